"""Console `/console`: the generation form (with an optional picture to edit), tasks, history.

Task rows arrive three ways and all end in `apply_task`: the page load (from
the database), this page's own submit/cancel, and the live bridge's pushes
(progress from the processor, other tabs, other processes). The history
(`state/console_history.HistoryMixin`) is part of this state.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import reflex as rx

from imgapp.core import db, formatting, i18n, routes
from imgapp.core.settings import get_settings
from imgapp.flows import tasks as task_flow
from imgapp.flows import uploads as upload_flow
from imgapp.gateways import providers
from imgapp.models import Upload, UploadPurpose
from imgapp.services import generation, task_views
from imgapp.services.errors import ImgappError, NotFound, describe
from imgapp.state import standings
from imgapp.state.app import AppState
from imgapp.state.console_history import HistoryMixin
from imgapp.state.task_rows import TaskRow, task_row

RECENT_TASKS = 30
NO_STYLE = "none"  # the style select's stand-in for "no style" (a select has no empty value)


class ConsoleState(HistoryMixin, AppState):
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
    # An edit: the person's uploaded picture and optional mask (0: none), as
    # accepted by flows/uploads; the picture's size, to check a mask against.
    edit_image_id: int = 0
    edit_image_size: str = ""
    edit_mask_id: int = 0
    upload_error: str = ""
    uploading: bool = False
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
    def edit_image_url(self) -> str:
        """The attached picture to edit, served to its owner."""
        return routes.upload_url(self.edit_image_id) if self.edit_image_id else ""

    @rx.var
    def edit_mask_url(self) -> str:
        """The attached mask."""
        return routes.upload_url(self.edit_mask_id) if self.edit_mask_id else ""

    @rx.var
    def upload_limit_mb(self) -> int:
        """The largest picture accepted, in MB."""
        return max(1, get_settings().upload_max_bytes // 1_048_576)

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
                source_url=row["source_url"],
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

    def apply_task(self, snapshot: dict[str, Any]) -> None:
        """Insert or update one task row (newest first); a deleted one leaves."""
        if int(snapshot.get("id") or 0) <= 0:
            return
        if snapshot.get("deleted"):
            self.forget_task(int(snapshot["id"]))
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
        self._apply_history(row, shown)
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
        self._retry_nonce = uuid.uuid4().hex
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
        self.confirm_delete = 0
        await self._read_history()

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
                source_upload_id=self.edit_image_id or None,
                mask_upload_id=(self.edit_mask_id or None) if self.edit_image_id else None,
            )
        except NotFound:  # the attached picture is gone (kept UPLOAD_KEEP_HOURS unused)
            self._detach_all()
            self.form_error = i18n.text("console.edit_gone", self.lang)
            self.submitting = False
            return
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

    async def _accept(self, files: list[rx.UploadFile], purpose: UploadPurpose) -> Upload | None:
        """The first chosen file, judged and kept; None (with the reason shown) if refused."""
        self.upload_error = ""
        if not self.user_id or not files:
            return None
        data = await files[0].read()
        try:
            return await asyncio.to_thread(
                upload_flow.upload, user_id=self.user_id, data=data, purpose=purpose
            )
        except ImgappError as exc:
            self.upload_error = describe(exc, self.lang).message
            return None

    @rx.event
    async def attach_image(self, files: list[rx.UploadFile]) -> None:
        """Attach a picture to edit (a mask made for another picture goes)."""
        self.uploading = True
        yield
        accepted = await self._accept(files, UploadPurpose.IMAGE)
        self.uploading = False
        if accepted is not None:
            self.edit_image_id = int(accepted.id or 0)
            self.edit_image_size = f"{accepted.width}×{accepted.height}"
            self.edit_mask_id = 0
            self.form_error = ""

    @rx.event
    async def attach_mask(self, files: list[rx.UploadFile]) -> None:
        """Attach a mask for the attached picture (it must be the picture's size)."""
        self.uploading = True
        yield
        accepted = await self._accept(files, UploadPurpose.MASK)
        self.uploading = False
        if accepted is None:
            return
        size = f"{accepted.width}×{accepted.height}"
        if self.edit_image_size and size != self.edit_image_size:
            self.upload_error = i18n.text(
                "error.mask_size_mismatch", self.lang, mask=size, image=self.edit_image_size
            )
            return
        self.edit_mask_id = int(accepted.id or 0)

    def _detach_all(self) -> None:
        self.edit_image_id = self.edit_mask_id = 0
        self.edit_image_size = self.upload_error = ""

    @rx.event
    def detach(self, which: str) -> None:
        """Remove the attached mask, or the picture (and its mask): back to drawing."""
        if which == "mask":
            self.edit_mask_id = 0
            self.upload_error = ""
        else:
            self._detach_all()

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
                self.edit_image_id = int(params["source_upload_id"])
                self.edit_mask_id = int(params["mask_upload_id"])
                self.edit_image_size = self.upload_error = ""
                self.request_id = uuid.uuid4().hex
                return
