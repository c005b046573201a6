"""Console `/console`: the generation form, the live task list and the gallery.

Task rows arrive three ways and all end in `apply_task`: the page load (from
the database), this page's own submit/cancel, and the live bridge's pushes
(progress from the processor, other tabs, other processes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import datetime, tzinfo
from typing import Any

import reflex as rx

from imgapp.core import db, formatting, i18n
from imgapp.core.settings import get_settings
from imgapp.flows import tasks as task_flow
from imgapp.gateways import providers
from imgapp.models.base import utcnow
from imgapp.models.tasks import ACTIVE
from imgapp.services import generation, task_views
from imgapp.services.errors import ImgappError, describe
from imgapp.state import standings
from imgapp.state.app import AppState

RECENT_TASKS = 30
NO_STYLE = "none"  # the style select's stand-in for "no style" (a select has no empty value)


def _when(value: object, zone: tzinfo | None) -> str:
    return formatting.local_time(value, zone=zone) if isinstance(value, datetime) else ""


def _elapsed(start: object, end: object) -> str:
    if not isinstance(start, datetime):
        return ""
    stop = end if isinstance(end, datetime) else utcnow()
    seconds = max(0, int((stop - start).total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _epoch_ms(when: datetime | str | None) -> int:
    return 0 if when is None else int(task_views.stored_time(when).timestamp() * 1000)


def task_row(snapshot: dict[str, Any], zone: tzinfo | None = None) -> dict[str, Any]:
    """A snapshot reduced to what the page renders (language-neutral; see `task_rows`).

    Times are written in `zone` (the person's; None: the site's).
    """
    return {
        "id": int(snapshot["id"]),
        "status": snapshot["status"],
        "progress": int(snapshot["progress"]),
        "message_key": snapshot["message_key"],
        "message_params": {k: str(v) for k, v in snapshot["message_params"].items()},
        "prompt": snapshot["prompt"],
        "summary": " · ".join(
            [snapshot["model"], snapshot["size"], f"×{snapshot['n']}", snapshot["quality"]]
        ),
        "provider": snapshot["provider"],
        "cost": int(snapshot["cost"]),
        "refunded": int(snapshot["refunded"]),
        "created": _when(snapshot["created_at"], zone),
        "elapsed": _elapsed(
            snapshot["started_at"] or snapshot["created_at"], snapshot["finished_at"]
        ),
        "active": snapshot["status"] in ACTIVE,
        # When the database last changed the task (epoch ms): the page carries it
        # so a delay from write to screen can be measured (bench/live_latency.py).
        "updated_ms": _epoch_ms(snapshot["updated_at"]),
        "image_urls": [f"/api/images/{i}" for i in snapshot["image_ids"]],
        "params": {
            "prompt": snapshot["prompt"],
            "negative_prompt": snapshot["negative_prompt"],
            "model": snapshot["model"],
            "size": snapshot["size"],
            "n": int(snapshot["n"]),
            "quality": snapshot["quality"],
            "style": snapshot["style"],
        },
    }


@dataclasses.dataclass
class TaskRow:
    """One task as the console shows it."""

    id: int
    status: str
    status_label: str
    progress: int
    message: str
    prompt: str
    summary: str
    provider: str
    cost: int
    refunded: int
    created: str
    elapsed: str
    active: bool
    updated_ms: int
    image_urls: list[str]
    queue_text: str  # place in the queue and time to go, while active


class ConsoleState(AppState):
    """The form's values, the cost preview, the tasks and their images."""

    prompt: str = ""
    negative_prompt: str = ""
    model: str = ""
    size: str = generation.DEFAULT_SIZE
    n: str = "1"
    quality: str = generation.DEFAULT_QUALITY
    style: str = NO_STYLE
    form_error: str = ""
    submitting: bool = False
    request_id: str = ""
    _rows: list[dict[str, Any]] = []
    # Active task id -> (queue position or None, seconds to go or None), pushed by
    # the live bridge as the queue moves (state/standings.py, live/bridge.py).
    _standings: dict[int, tuple[int | None, int | None]] = {}

    @rx.var
    def models(self) -> list[str]:
        """Models on offer."""
        return generation.models()

    @rx.var
    def sizes(self) -> list[str]:
        """Sizes on offer."""
        return list(generation.SIZES)

    @rx.var
    def qualities(self) -> list[str]:
        """Qualities on offer."""
        return list(generation.QUALITIES)

    @rx.var
    def styles(self) -> list[str]:
        """Styles on offer, "no style" first."""
        return [style or NO_STYLE for style in generation.STYLES]

    @rx.var
    def counts(self) -> list[str]:
        """How many images one task may make."""
        return [str(n) for n in generation.IMAGE_COUNTS]

    @rx.var
    def provider_name(self) -> str:
        """Which provider new tasks run on."""
        return providers.configured_name()

    @rx.var
    def prompt_limit(self) -> int:
        """The longest prompt accepted."""
        return get_settings().prompt_max_length

    @rx.var
    def cost_preview(self) -> int:
        """What the form would cost, updated as it changes."""
        return generation.quote(self.size, self.quality, self.n)

    @rx.var
    def can_afford(self) -> bool:
        """Whether the balance covers the preview."""
        return self.balance >= self.cost_preview

    @rx.var
    def task_rows(self) -> list[TaskRow]:
        """Tasks with status and message in this browser's language."""
        return [
            TaskRow(
                id=row["id"],
                status=row["status"],
                status_label=i18n.text(f"status.{row['status']}", self.lang),
                progress=row["progress"],
                message=i18n.text(row["message_key"], self.lang, **row["message_params"])
                if row["message_key"]
                else "",
                prompt=row["prompt"],
                summary=row["summary"],
                provider=row["provider"],
                cost=row["cost"],
                refunded=row["refunded"],
                created=row["created"],
                elapsed=row["elapsed"],
                active=row["active"],
                updated_ms=row["updated_ms"],
                image_urls=row["image_urls"],
                queue_text=self._queue_text(row) if row["active"] else "",
            )
            for row in self._rows
        ]

    def _queue_text(self, row: dict[str, Any]) -> str:
        """'#3 in the queue · about 40 seconds to go', in this browser's language."""
        if row["id"] not in self._standings:
            return ""
        position, seconds = self._standings[row["id"]]
        parts = []
        if row["status"] == "pending" and position is not None:
            parts.append(i18n.text("console.queue_position", self.lang, position=position))
        parts.append(
            i18n.text("console.eta_unknown", self.lang)
            if seconds is None
            else i18n.text(
                "console.eta", self.lang, duration=formatting.duration(seconds, lang=self.lang)
            )
        )
        return " · ".join(parts)

    def apply_standings(self, standings: dict[int, tuple[int | None, int | None]]) -> None:
        """The user's active tasks' places and times to go (unchanged: nothing is sent)."""
        if standings != self._standings:
            self._standings = standings

    @rx.var
    def gallery(self) -> list[dict[str, str]]:
        """Every finished image, newest first."""
        return [
            {
                "url": url,
                "prompt": row["prompt"],
                "provider": row["provider"],
                "task": str(row["id"]),
            }
            for row in self._rows
            if row["status"] == "completed"
            for url in row["image_urls"]
        ]

    def apply_task(self, snapshot: dict[str, Any]) -> None:
        """Insert or update one task row (newest first)."""
        if int(snapshot.get("id") or 0) <= 0:
            return
        row = task_row(snapshot, self.zone())
        shown = next((r for r in self._rows if r["id"] == row["id"]), None)
        if shown is not None and shown["updated_ms"] > row["updated_ms"]:
            row = shown  # an older snapshot arriving late (pushes may overtake each other)
        if row != shown:  # the same row again (the safety net's re-read) sends the page nothing
            rows = [r for r in self._rows if r["id"] != row["id"]]
            rows.append(row)
            rows.sort(key=lambda r: r["id"], reverse=True)
            self._rows = rows[:RECENT_TASKS]
        if "balance" in snapshot and self.balance != int(snapshot["balance"]):
            self.balance = int(snapshot["balance"])

    @rx.event
    async def load(self) -> None:
        """Tasks from the database (the truth after any reload) and a fresh form id."""
        if not self.user_id:
            return
        if not self.model or self.model not in generation.models():
            self.model = generation.models()[0]
        self.request_id = uuid.uuid4().hex
        self.form_error = ""

        def read() -> list[dict[str, Any]]:
            with db.read() as session:
                return task_views.snapshots(
                    session, task_views.recent(session, user_id=self.user_id, limit=RECENT_TASKS)
                )

        zone = self.zone()
        self._rows = [task_row(s, zone) for s in await asyncio.to_thread(read)]
        if any(row["active"] for row in self._rows):
            self._standings = await asyncio.to_thread(standings.of_user, self.user_id)

    @rx.event
    def set_field(self, name: str, value: str) -> None:
        """Keep a form field (the cost preview follows)."""
        if name in {"prompt", "negative_prompt", "model", "size", "n", "quality", "style"}:
            setattr(self, name, value)
            self.form_error = ""

    @rx.event
    async def submit(self) -> None:
        """Queue the form as a task; errors appear next to the form."""
        if self.submitting:
            return
        self.submitting = True
        self.form_error = ""
        yield
        raw = {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "model": self.model,
            "size": self.size,
            "n": int(self.n) if self.n.isdigit() else self.n,
            "quality": self.quality,
            "style": "" if self.style == NO_STYLE else self.style,
        }
        try:
            params = generation.validate(raw)
            submitted = await asyncio.to_thread(
                task_flow.submit,
                user_id=self.user_id,
                params=params,
                provider=providers.configured_name(),
                request_id=self.request_id,
            )
        except ImgappError as exc:
            self.form_error = describe(exc, self.lang).message
            self.submitting = False
            return
        self.request_id = uuid.uuid4().hex  # the next submit is a new task
        self.balance = submitted.balance or self.balance
        self.submitting = False
        self.apply_task(submitted.snapshot)

    @rx.event
    async def cancel(self, task_id: int) -> None:
        """Cancel one of the user's tasks; its credits come back."""
        try:
            cancelled = await asyncio.to_thread(
                task_flow.cancel, task_id=task_id, user_id=self.user_id
            )
        except ImgappError as exc:
            yield rx.toast.error(describe(exc, self.lang).message)
            return
        self.apply_task({**cancelled.snapshot, "balance": cancelled.balance})

    @rx.event
    def retry(self, task_id: int) -> None:
        """Put a task's parameters back in the form, ready to submit again."""
        for row in self._rows:
            if row["id"] == task_id:
                params = row["params"]
                self.prompt = params["prompt"]
                self.negative_prompt = params["negative_prompt"]
                self.model = params["model"]
                self.size = params["size"]
                self.n = str(params["n"])
                self.quality = params["quality"]
                self.style = params["style"] or NO_STYLE
                self.request_id = uuid.uuid4().hex
                return
