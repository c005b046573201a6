"""`/api/usage/report`: the signed-in user's usage over local days, as JSON or streamed CSV.

Every parameter is checked before anything is read, so a bad one is a 400
naming it and a CSV either starts whole or not at all. Times are written in
the report's zone with their offset, plus a UTC column. The session or an
API key with `read`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from imgapp.api.csv_files import csv_download, csv_stream
from imgapp.api.deps import ReadCaller
from imgapp.core import db, formatting
from imgapp.services import usage
from imgapp.services.usage import export

router = APIRouter(prefix="/api/usage", tags=["usage"])

GROUP_COLUMNS = (
    "key",
    "entries",
    "spent",
    "refunded",
    "net",
    "recharged",
    "rewarded",
    "adjusted",
    "balance_change",
    "images",
    "tasks",
)


def row_out(row: usage.Row, window: usage.Range) -> dict[str, object]:
    """One detail row as JSON (the CSV's columns and values, text as it is)."""
    return dict(zip(export.COLUMNS, export.values(row, window), strict=True))


def group_values(group: usage.Group) -> list[object]:
    """One group in `GROUP_COLUMNS` order."""
    found = group.as_dict()
    return [found[name] for name in GROUP_COLUMNS]


def report_window(
    user_zone: str, start: str | None, end: str | None, tz: str | None
) -> usage.Range:
    """The range asked for; by default the last 30 local days, today included."""
    zone = usage.zone_of(tz if tz not in (None, "") else user_zone, field_name="tz")
    if start in (None, "") and end in (None, ""):
        return usage.preset_range(usage.DEFAULT_PRESET, zone)  # the /usage page's default too
    return usage.check_range(start, end, zone)


def _filename(window: usage.Range, what: str) -> str:
    last = window.end - timedelta(days=1)
    return f"imgapp-{what}-{window.start.isoformat()}-to-{last.isoformat()}.csv"


def _detail_csv(user_id: int, window: usage.Range) -> StreamingResponse:
    """Every row of the range, oldest first; PostgreSQL writes the CSV itself (COPY)."""
    filename = _filename(window, "usage")
    if db.get_engine().dialect.name == "postgresql":
        body = db.copy_csv(export.csv_select(user_id, window), time_zone=window.zone.key)
        return csv_stream(export.COLUMNS, body, filename=filename)

    def rows() -> Iterator[list[object]]:
        with db.read() as session:
            for row in usage.stream_rows(session, user_id=user_id, window=window):
                yield export.csv_values(row, window)

    return csv_download(export.COLUMNS, rows(), filename=filename)


class ReportQuery(BaseModel):
    """The report's query parameters; each is checked by the usage service, which names it."""

    start: str | None = Field(None, alias="from", description="first local day, YYYY-MM-DD")
    end: str | None = Field(None, alias="to", description="the day after the last, YYYY-MM-DD")
    group_by: str | None = Field(None, description="day, week, month, model, size or kind")
    tz: str | None = Field(None, description="an IANA zone; default: the account's")
    format: str | None = Field(None, description="json (default) or csv")
    view: str | None = Field(None, description="with format=csv: rows (default) or groups")
    sort: str | None = Field(None, description="-time (default), time, -credits, credits")
    limit: str | None = Field(None, description="rows per page, 1-500 (default 50)")
    cursor: str | None = Field(None, description="the previous page's next_cursor")


@router.get(
    "/report",
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"},
        400: {"description": "A parameter is not valid (the body names it)"},
        401: {"description": "Sign in"},
    },
)
def report(user: ReadCaller, query: Annotated[ReportQuery, Query()]) -> Any:
    """Totals, groups and a page of detail rows; or every row (or group) as a CSV download."""
    window = report_window(user.time_zone, query.start, query.end, query.tz)
    group = usage.check_group(query.group_by)
    kind = usage.check_choice(query.format, field="format", choices=("json", "csv"))
    table = usage.check_choice(query.view, field="view", choices=("rows", "groups"))
    order = usage.check_sort(query.sort)
    page_size = usage.check_limit(query.limit)
    if kind == "csv" and table == "rows":
        return _detail_csv(user.user_id, window)
    with db.read() as session:
        if kind == "csv":
            found = usage.groups(session, user_id=user.user_id, window=window, group=group)
            return _groups_csv(found, window, group)
        totals, found = usage.summary(session, user_id=user.user_id, window=window, group=group)
        page = usage.rows(
            session,
            user_id=user.user_id,
            window=window,
            sort=order,
            limit=page_size,
            cursor=query.cursor or None,
        )
    return {
        "range": window.as_dict(),
        "tz": window.zone.key,
        "group_by": group,
        "totals": {**totals.as_dict(), "recharged_yuan": formatting.yuan(totals.recharged_fen)},
        "groups": [g.as_dict() for g in found],
        "rows": [row_out(r, window) for r in page.rows],
        "next_cursor": page.next_cursor,
    }


def _groups_csv(found: list[usage.Group], window: usage.Range, group: str) -> StreamingResponse:
    return csv_download(
        GROUP_COLUMNS,
        (group_values(g) for g in found),
        filename=_filename(window, f"usage-by-{group}"),
    )
