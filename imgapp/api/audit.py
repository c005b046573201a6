"""`GET /api/audit`: the signed-in person's own audit log, as pages of JSON or one CSV.

Filters: `category` (sign_in, security, money, invites, account), `from` and
`to` (local days in the account's time zone, both included), `page` (50 a
page), `format` (json or csv: every filtered event, streamed). A bad filter is
a 400 naming it. Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from imgapp.api.csv_files import csv_download
from imgapp.api.deps import CurrentUser
from imgapp.api.responses import request_lang
from imgapp.core import db
from imgapp.services import audit_log

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditQuery(BaseModel):
    """The log's query parameters; each is checked by `services.audit_log`, which names it."""

    category: str | None = Field(None, description="sign_in, security, money, invites or account")
    start: str | None = Field(None, alias="from", description="first local day, YYYY-MM-DD")
    end: str | None = Field(None, alias="to", description="last local day (included), YYYY-MM-DD")
    page: str | None = Field(None, description="1 (default) and up; 50 events a page")
    format: str | None = Field(None, description="json (default) or csv")


def _filename(filters: audit_log.Filters) -> str:
    first = filters.first.isoformat() if filters.first else "start"
    last = filters.last.isoformat() if filters.last else "now"
    return f"imgapp-audit-{first}-to-{last}.csv"


@router.get(
    "",
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"},
        400: {"description": "A filter is not valid (the body names it)"},
        401: {"description": "Sign in"},
    },
)
def audit_events(request: Request, user: CurrentUser, query: Annotated[AuditQuery, Query()]) -> Any:
    """Your events, newest first: `{"events", "page", "pages", "total"}`, or a CSV of all."""
    filters = audit_log.check_filters(
        category=query.category, first=query.start, last=query.end, zone_name=user.time_zone
    )
    kind = audit_log.check_format(query.format)
    page = audit_log.check_page(query.page)
    lang = request_lang(request)
    if kind == "csv":

        def rows() -> Iterator[list[object]]:
            with db.read() as session:
                for event in audit_log.stream_for_user(
                    session, user_id=user.user_id, filters=filters, lang=lang
                ):
                    yield event.csv_values()

        return csv_download(audit_log.COLUMNS, rows(), filename=_filename(filters))
    found = db.call_read(
        audit_log.page_for_user, user_id=user.user_id, filters=filters, page=page, lang=lang
    )
    return {
        "events": [e.as_dict() for e in found.events],
        "page": found.page,
        "pages": found.pages,
        "total": found.total,
    }
