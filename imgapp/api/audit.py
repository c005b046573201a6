"""`GET /api/audit`: the signed-in person's own audit log, as pages of JSON or one CSV.

Filters: `category` (sign_in, security, money, invites, account), `from` and
`to` (local days in the account's time zone, both included), `page` (50 a
page), `format` (json or csv: every filtered event, streamed), `download=1`
(JSON too as a file of every filtered event), `lang` (the summaries' language). A bad filter is
a 400 naming it. Times are ISO 8601 in UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from imgapp.api.csv_files import csv_download
from imgapp.api.deps import CurrentUser
from imgapp.api.responses import request_lang
from imgapp.core import db, i18n
from imgapp.services import audit_log

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditQuery(BaseModel):
    """The log's query parameters; each is checked by `services.audit_log`, which names it."""

    category: str | None = Field(None, description="sign_in, security, money, invites or account")
    start: str | None = Field(None, alias="from", description="first local day, YYYY-MM-DD")
    end: str | None = Field(None, alias="to", description="last local day (included), YYYY-MM-DD")
    page: str | None = Field(None, description="1 (default) and up; 50 events a page")
    format: str | None = Field(None, description="json (default) or csv")
    download: str | None = Field(
        None, description="1: every filtered event as a file (json or csv; csv always is)"
    )
    lang: str | None = Field(None, description="zh or en for the summaries (else Accept-Language)")


def _filename(filters: audit_log.Filters, kind: str) -> str:
    first = filters.first.isoformat() if filters.first else "start"
    last = filters.last.isoformat() if filters.last else "now"
    return f"imgapp-audit-{first}-to-{last}.{kind}"


def _json_file(events: Iterator[audit_log.Event], filename: str) -> StreamingResponse:
    """Every event as one JSON array, streamed."""

    def chunks() -> Iterator[str]:
        yield "["
        for n, event in enumerate(events):
            yield ("," if n else "") + "\n" + json.dumps(event.as_dict(), ensure_ascii=False)
        yield "\n]\n"

    return StreamingResponse(
        chunks(),
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


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
    lang = i18n.normalize_lang(query.lang) if query.lang else request_lang(request)

    def events() -> Iterator[audit_log.Event]:
        with db.read() as session:
            yield from audit_log.stream_for_user(
                session, user_id=user.user_id, filters=filters, lang=lang
            )

    if kind == "csv":
        rows = (event.csv_values() for event in events())
        return csv_download(audit_log.COLUMNS, rows, filename=_filename(filters, "csv"))
    if query.download == "1":
        return _json_file(events(), _filename(filters, "json"))
    found = db.call_read(
        audit_log.page_for_user, user_id=user.user_id, filters=filters, page=page, lang=lang
    )
    return {
        "events": [e.as_dict() for e in found.events],
        "page": found.page,
        "pages": found.pages,
        "total": found.total,
    }
