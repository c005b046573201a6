"""Security page state: the account's sessions (end one, end all others) and its audit log.

Live: when a session of the user starts or ends anywhere, the bridge calls
`refresh` on each open `/security` page. The log is filtered by category and
local days (the account's zone), 50 events a page; its exports are links to
`/api/audit` with the same filters.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from imgapp.core import db, formatting, routes
from imgapp.flows import sessions as session_flow
from imgapp.services import audit_log, devices
from imgapp.services.errors import ImgappError, NotFound, describe
from imgapp.state.app import AppState

API_AUDIT = "/api/audit"
CATEGORIES: tuple[str, ...] = tuple(c.value for c in audit_log.Category)


class SecurityState(AppState):
    """Sessions and the filtered, paginated log."""

    _sessions: list[devices.SessionView] = []
    sessions_error: str = ""
    others_ended: int = -1  # how many "sign out everywhere else" ended (-1: not asked)
    category: str = ""
    day_from: str = ""
    day_to: str = ""
    log_page: int = 1
    log_pages: int = 1
    log_total: int = 0
    _events: list[audit_log.Event] = []
    log_error: str = ""
    loaded: bool = False

    @rx.var
    def session_rows(self) -> list[dict[str, str]]:
        """The sessions for the table (times in the account's zone)."""
        zone = self.zone()
        return [
            {
                "id": str(s.id),
                "device": s.device
                or self.text("sec.device_computer" if s.os else "sec.device_unknown"),
                "browser": s.browser or "—",
                "os": s.os or "—",
                "ip": s.ip or "—",
                "created": formatting.local_time(s.created_at, zone=zone),
                "last_active": formatting.local_time(s.last_seen_at, zone=zone),
                "current": "1" if s.current else "",
            }
            for s in self._sessions
        ]

    @rx.var
    def other_sessions(self) -> int:
        """How many sessions besides this one."""
        return sum(1 for s in self._sessions if not s.current)

    @rx.var
    def event_rows(self) -> list[dict[str, str]]:
        """This page of the log (times in the account's zone)."""
        zone = self.zone()
        return [
            {
                "id": str(e.id),
                "time": formatting.local_time(e.time, zone=zone),
                "category": e.category,
                "category_label": self.text(f"sec.category.{e.category}") if e.category else "",
                "detail": e.detail,
                "ip": e.ip,
                "device": e.device,
            }
            for e in self._events
        ]

    @rx.var
    def page_label(self) -> str:
        """Where the log stands, e.g. page 2 of 5, 230 events."""
        return self.text(
            "sec.page_of", page=self.log_page, pages=self.log_pages, total=self.log_total
        )

    def _export(self, kind: str) -> str:
        return routes.with_query(
            API_AUDIT,
            category=self.category,
            **{"from": self.day_from, "to": self.day_to},
            format=kind,
            download="1",
            lang=self.lang,
        )

    @rx.var
    def export_csv(self) -> str:
        """Every event the filters match, as CSV."""
        return self._export("csv")

    @rx.var
    def export_json(self) -> str:
        """Every event the filters match, as JSON."""
        return self._export("json")

    async def _read_sessions(self) -> None:
        self._sessions = await asyncio.to_thread(
            db.call_read,
            devices.list_for_user,
            user_id=self.user_id,
            current_session_id=self.session_id,
        )

    async def _read_log(self) -> None:
        self.log_error = ""
        try:
            filters = audit_log.check_filters(
                category=self.category,
                first=self.day_from,
                last=self.day_to,
                zone_name=self.time_zone,
            )
            found = await asyncio.to_thread(
                db.call_read,
                audit_log.page_for_user,
                user_id=self.user_id,
                filters=filters,
                page=self.log_page,
                lang=self.lang,
            )
        except ImgappError as exc:
            self.log_error = describe(exc, self.lang).message
            return
        if found.page > found.pages:  # fewer events than when the page was chosen
            self.log_page = found.pages
            await self._read_log()
            return
        self._events = found.events
        self.log_pages, self.log_total = found.pages, found.total

    @rx.event
    async def load(self) -> None:
        """Sessions and the log's first page, with no filter."""
        self.sessions_error, self.others_ended = "", -1
        self.category, self.day_from, self.day_to, self.log_page = "", "", "", 1
        if not self.user_id:
            return
        await self._read_sessions()
        await self._read_log()
        self.loaded = True

    async def refresh(self) -> None:
        """Read the sessions and this page of the log again (the bridge calls this)."""
        if self.user_id:
            await self._read_sessions()
            await self._read_log()

    @rx.event
    async def revoke(self, session_id: str) -> None:
        """End one of the other sessions; its open pages go to sign-in."""
        self.sessions_error = ""
        try:
            await asyncio.to_thread(
                session_flow.revoke_session,
                user_id=self.user_id,
                session_id=int(session_id),
                acting_session_id=self.session_id,
                ip=self.client_ip(),
            )
        except (NotFound, ValueError):
            self.sessions_error = self.text("sec.session_gone")
        await self.refresh()

    @rx.event
    async def revoke_others(self) -> None:
        """Sign out every session but this one."""
        ended = await asyncio.to_thread(
            session_flow.revoke_other_sessions,
            user_id=self.user_id,
            keep_session_id=self.session_id,
            ip=self.client_ip(),
        )
        self.others_ended = len(ended)
        await self.refresh()

    @rx.event
    async def filter_log(self, form: dict[str, Any]) -> None:
        """Apply the category and the days; back to the first page."""
        category = str(form.get("category", ""))
        self.category = category if category in CATEGORIES else ""
        self.day_from = str(form.get("from", ""))[:10]
        self.day_to = str(form.get("to", ""))[:10]
        self.log_page = 1
        await self._read_log()

    @rx.event
    async def turn_page(self, step: int) -> None:
        """The next (1) or previous (-1) page of the log."""
        self.log_page = min(max(1, self.log_page + step), self.log_pages)
        await self._read_log()
