"""CSV downloads: UTF-8 with a byte-order mark, RFC 4180 quoting, formula-safe text, streamed.

A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return as a formula; text cells (prompts, descriptions, references)
that do are written with a leading apostrophe. Numbers stay plain numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from fastapi.responses import StreamingResponse

BOM = "\ufeff"  # spreadsheet programs then read the UTF-8 (Chinese) correctly
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ROWS_PER_CHUNK = 1000


def safe_cell(value: object) -> object:
    """A value as written: text that a spreadsheet would run is neutralised; numbers as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write(BOM)
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(v) for v in row])
        if count % _ROWS_PER_CHUNK == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole file as one string (small files)."""
    return "".join(_lines(header, rows))


def csv_download(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, filename: str
) -> StreamingResponse:
    """A streamed attachment: rows are written as they come, a chunk at a time."""
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in _lines(header, rows)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
