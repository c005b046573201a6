"""Dashboard `/`: balance, recent usage, recent ledger movements."""

from __future__ import annotations

import asyncio

import reflex as rx

from imgapp.core import db
from imgapp.services import ledger
from imgapp.state.app import AppState
from imgapp.state.ledger_rows import entry_row, translate_kinds, usage_row

RECENT = 8


class DashboardState(AppState):
    """What the dashboard shows; loaded on every visit."""

    usage_rows: list[dict[str, str]] = []
    _entries: list[dict[str, str]] = []
    loaded: bool = False

    @rx.var
    def entry_rows(self) -> list[dict[str, str]]:
        """Recent movements with their kinds in this browser's language."""
        return translate_kinds(self._entries, self.lang)

    @rx.event
    async def load(self) -> None:
        """Read the summary for the signed-in user."""
        if not self.user_id:
            return
        found = await asyncio.to_thread(
            db.call_read, ledger.summary, user_id=self.user_id, limit=RECENT
        )
        self.balance = found.balance
        self.usage_rows = [usage_row(u) for u in found.usage]
        self._entries = [entry_row(e) for e in found.entries]
        self.loaded = True
