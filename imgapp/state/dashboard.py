"""Dashboard `/`: balance, the last 30 days' spending, latest tasks, recent usage and movements.

Times and days are the person's zone (`AppState.zone`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import reflex as rx

from imgapp.core import db, formatting, i18n, routes
from imgapp.models.base import require_id
from imgapp.services import ledger, task_views, usage
from imgapp.state.app import AppState
from imgapp.state.ledger_rows import entry_row, translate_kinds, usage_row

RECENT = 8
RECENT_TASKS = 6
SPENDING_PRESET = "30d"


@dataclass(frozen=True)
class _Found:
    summary: ledger.Summary
    days: list[usage.Group]
    tasks: list[dict[str, Any]]


def _read(user_id: int, window: usage.Range) -> _Found:
    with db.read() as session:
        found = ledger.summary(session, user_id=user_id, limit=RECENT)
        days = usage.groups(session, user_id=user_id, window=window, group="day")
        tasks = task_views.snapshots(
            session, task_views.recent(session, user_id=user_id, limit=RECENT_TASKS)
        )
    return _Found(found, days, tasks)


def _task_card(snapshot: dict[str, Any]) -> dict[str, Any]:
    images = snapshot["image_ids"]
    return {
        "id": int(snapshot["id"]),
        "status": snapshot["status"],
        "prompt": snapshot["prompt"],
        "thumbnail": f"{routes.API_IMAGES}/{images[0]}" if images else "",
        "images": len(images),
    }


class DashboardState(AppState):
    """What the dashboard shows; loaded on every visit."""

    _usage: list[dict[str, str]] = []
    _entries: list[dict[str, str]] = []
    _tasks: list[dict[str, Any]] = []
    spending: list[dict[str, Any]] = []
    spent_30d: int = 0
    loaded: bool = False

    @rx.var
    def usage_rows(self) -> list[dict[str, str]]:
        """Recent usage; a charge given back says so, in this browser's language."""
        lang = self.lang
        return [
            {
                **row,
                "refund_label": i18n.text(
                    "dash.refunded_all" if row["refunded_all"] else "dash.refunded_part",
                    lang,
                    credits=row["refunded"],
                )
                if row["refunded"]
                else "",
            }
            for row in self._usage
        ]

    @rx.var
    def entry_rows(self) -> list[dict[str, str]]:
        """Recent movements with their kinds in this browser's language."""
        return translate_kinds(self._entries, self.lang)

    @rx.var
    def task_cards(self) -> list[dict[str, str]]:
        """The latest tasks with a thumbnail of their first image and their status."""
        lang = self.lang
        return [
            {
                "id": str(task["id"]),
                "status": task["status"],
                "status_label": i18n.text(f"status.{task['status']}", lang),
                "prompt": task["prompt"],
                "thumbnail": task["thumbnail"],
                "images": str(task["images"]),
            }
            for task in self._tasks
        ]

    @rx.var
    def spent_30d_text(self) -> str:
        """Net credits spent over the last 30 days."""
        return formatting.count(self.spent_30d, lang=self.lang)

    @rx.event
    async def load(self) -> None:
        """Read the summary, the spending by day and the latest tasks for the signed-in user."""
        if not self.user_id:
            return
        zone = self.zone()
        window = usage.preset_range(SPENDING_PRESET, zone)
        found = await asyncio.to_thread(_read, self.user_id, window)
        self.balance = found.summary.balance
        self._usage = [
            usage_row(u, zone=zone, refunded=found.summary.refunds.get(require_id(u.id), 0))
            for u in found.summary.usage
        ]
        self._entries = [entry_row(e, zone=zone) for e in found.summary.entries]
        self._tasks = [_task_card(s) for s in found.tasks]
        self.spending = [{"day": g.key[5:], "net": g.net} for g in found.days]
        self.spent_30d = sum(g.net for g in found.days)
        self.loaded = True
