"""`/api/usage/report`: the signed-in user's usage over local days, as JSON or streamed CSV.

Every parameter is checked before anything is read, so a bad one is a 400
naming it and a CSV either starts whole or not at all. Times are written in
the report's zone with their offset, plus a UTC column.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from imgapp.api.csv_files import csv_download
from imgapp.api.deps import CurrentUser
from imgapp.core import db, formatting
from imgapp.services import usage
from imgapp.services.errors import ValidationFailed

router = APIRouter(prefix="/api/usage", tags=["usage"])

ROW_COLUMNS = (
    "time",
    "time_utc",
    "entry_id",
    "kind",
    "credits",
    "amount",
    "balance_after",
    "model",
    "size",
    "images",
    "task_id",
    "reference",
    "refund_of",
    "description",
)
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


def row_values(row: usage.Row, window: usage.Range) -> list[object]:
    """One detail row in `ROW_COLUMNS` order."""
    return [
        row.created_at.astimezone(window.zone).isoformat(timespec="seconds"),
        row.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        row.entry_id,
        row.kind,
        row.credits,
        row.amount,
        row.balance_after,
        row.model,
        row.size,
        row.images,
        row.task_id,
        row.reference,
        row.refund_of,
        row.description,
    ]


def row_out(row: usage.Row, window: usage.Range) -> dict[str, object]:
    """One detail row as JSON."""
    return dict(zip(ROW_COLUMNS, row_values(row, window), strict=True))


def group_values(group: usage.Group) -> list[object]:
    """One group in `GROUP_COLUMNS` order."""
    found = group.as_dict()
    return [found[name] for name in GROUP_COLUMNS]


def _choice(value: str | None, name: str, choices: tuple[str, ...]) -> str:
    if value in (None, ""):
        return choices[0]
    if value not in choices:
        raise ValidationFailed(
            "choice_unknown",
            f"`{name}` must be one of: {', '.join(choices)}.",
            field=name,
            name=name,
            choices=", ".join(choices),
        )
    return value


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


def _stream_rows(user_id: int, window: usage.Range) -> Any:
    with db.read() as session:
        for row in usage.stream_rows(session, user_id=user_id, window=window):
            yield row_values(row, window)


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
def report(user: CurrentUser, query: Annotated[ReportQuery, Query()]) -> Any:
    """Totals, groups and a page of detail rows; or every row (or group) as a CSV download."""
    window = report_window(user.time_zone, query.start, query.end, query.tz)
    group = usage.check_group(query.group_by)
    kind = _choice(query.format, "format", ("json", "csv"))
    table = _choice(query.view, "view", ("rows", "groups"))
    order = usage.check_sort(query.sort)
    page_size = usage.check_limit(query.limit)
    if kind == "csv" and table == "rows":
        return csv_download(
            ROW_COLUMNS, _stream_rows(user.user_id, window), filename=_filename(window, "usage")
        )
    with db.read() as session:
        found = usage.groups(session, user_id=user.user_id, window=window, group=group)
        if kind == "csv":
            return _groups_csv(found, window, group)
        totals = usage.totals(session, user_id=user.user_id, window=window)
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
