"""CSV downloads: UTF-8 with a byte-order mark, a header row, RFC 4180 quoting, streamed.

Text a spreadsheet would run as a formula is neutralised
(`formatting.spreadsheet_safe`); numbers stay plain numbers. Lines end with
LF, as PostgreSQL's COPY writes them, so a file reads the same whichever
database made it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from fastapi.responses import StreamingResponse

from imgapp.core.formatting import spreadsheet_safe

BOM = "\ufeff"  # spreadsheet programs then read the UTF-8 (Chinese) correctly
_ROWS_PER_CHUNK = 1000


def _cell(value: object) -> object:
    if value is None:
        return ""
    return spreadsheet_safe(value) if isinstance(value, str) else value


def _head(header: Sequence[str]) -> str:
    return BOM + ",".join(header) + "\n"


def _lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    out.write(_head(header))
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell(v) for v in row])
        if count % _ROWS_PER_CHUNK == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole file as one string (small files)."""
    return "".join(_lines(header, rows))


def _attachment(body: Iterable[bytes], filename: str) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_download(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, filename: str
) -> StreamingResponse:
    """A streamed attachment: rows are written as they come, a chunk at a time."""
    return _attachment((chunk.encode("utf-8") for chunk in _lines(header, rows)), filename)


def csv_stream(header: Sequence[str], body: Iterable[bytes], *, filename: str) -> StreamingResponse:
    """A streamed attachment whose rows come already written as CSV (PostgreSQL's COPY)."""

    def chunks() -> Iterator[bytes]:
        yield _head(header).encode("utf-8")
        yield from body

    return _attachment(chunks(), filename)
