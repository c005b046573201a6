"""Console `/console`: the generation form (with an optional picture to edit), tasks, gallery.

Task rows arrive three ways and all end in `apply_task`: the page load (from
the database), this page's own submit/cancel, and the live bridge's pushes
(progress from the processor, other tabs, other processes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import reflex as rx

from imgapp.core import db, formatting, i18n, routes
from imgapp.core.settings import get_settings
from imgapp.flows import tasks as task_flow
from imgapp.flows import uploads as upload_flow
from imgapp.gateways import providers
from imgapp.models import Upload, UploadPurpose
from imgapp.models.base import utcnow
from imgapp.models.tasks import ACTIVE
from imgapp.services import generation, history, task_views
from imgapp.services.errors import ImgappError, NotFound, describe
from imgapp.state import standings
from imgapp.state.app import AppState

RECENT_TASKS = 30
NO_STYLE = "none"  # the style select's stand-in for "no style" (a select has no empty value)
ANY = ""  # a history filter's "any" (status, model, size)
HISTORY_PER_PAGE = 12


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
    shares = snapshot.get("image_shares") or {}
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
        "favourite": bool(snapshot.get("favourite")),
        # When the database last changed the task (epoch ms): the page carries it
        # so a delay from write to screen can be measured (bench/live_latency.py).
        "updated_ms": _epoch_ms(snapshot["updated_at"]),
        "image_urls": [f"/api/images/{i}" for i in snapshot["image_ids"]],
        "shares": [
            {
                "id": str(i),
                "thumb": f"/api/images/{i}",
                "link": routes.share_url(token) if (token := shares.get(str(i))) else "",
            }
            for i in snapshot["image_ids"]
        ],
        "source_url": routes.upload_url(source)
        if (source := snapshot.get("source_upload_id"))
        else "",
        "params": {
            "prompt": snapshot["prompt"],
            "negative_prompt": snapshot["negative_prompt"],
            "model": snapshot["model"],
            "size": snapshot["size"],
            "n": int(snapshot["n"]),
            "quality": snapshot["quality"],
            "style": snapshot["style"],
            "source_upload_id": snapshot.get("source_upload_id") or 0,
            "mask_upload_id": snapshot.get("mask_upload_id") or 0,
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
    source_url: str  # an edit: the uploaded picture it started from ("" otherwise)
    queue_text: str  # place in the queue and time to go, while active


@dataclasses.dataclass
class HistoryItem:
    """One task in the history grid."""

    id: int
    status: str
    status_label: str
    prompt: str
    summary: str
    created: str
    cover: str  # the first image, or "" (nothing made)
    image_urls: list[str]
    source_url: str
    favourite: bool
    active: bool
    can_retry: bool  # failed or cancelled: run again as a new task
    shares: list[dict[str, str]]  # each image: id, thumb, its public link ("" = private)
    shared: bool  # any image of it is public


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
    # An edit: the person's uploaded picture and optional mask (0: none), as
    # accepted by flows/uploads; the picture's size, to check a mask against.
    edit_image_id: int = 0
    edit_image_size: str = ""
    edit_mask_id: int = 0
    upload_error: str = ""
    uploading: bool = False
    # The history: its filters (dates as local days, `h_to` included), the page
    # shown and how many match; its rows are task rows like the list's.
    h_search: str = ""
    h_status: str = ANY
    h_model: str = ANY
    h_size: str = ANY
    h_from: str = ""
    h_to: str = ""
    h_favourites: bool = False
    h_page: int = 1
    h_total: int = 0
    h_error: str = ""
    h_models: list[str] = []
    confirm_delete: int = 0  # the task whose "delete" was clicked once
    _h_rows: list[dict[str, Any]] = []
    # Each retry's request id is the task's and this page load's: a double click
    # (or an event sent again after a reconnect) makes one new task, not two.
    _retry_nonce: str = ""
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

    @rx.var
    def history_items(self) -> list[HistoryItem]:
        """The history page's tasks, labels in this browser's language."""
        return [
            HistoryItem(
                id=row["id"],
                status=row["status"],
                status_label=i18n.text(f"status.{row['status']}", self.lang),
                prompt=row["prompt"],
                summary=row["summary"],
                created=row["created"],
                cover=row["image_urls"][0] if row["image_urls"] else "",
                image_urls=row["image_urls"],
                source_url=row["source_url"],
                favourite=row["favourite"],
                active=row["active"],
                can_retry=row["status"] in {"failed", "cancelled"},
                shares=row["shares"],
                shared=any(share["link"] for share in row["shares"]),
            )
            for row in self._h_rows
        ]

    @rx.var
    def h_pages(self) -> int:
        """How many pages the matches fill."""
        return self._pages()

    def _pages(self) -> int:
        return max(1, -(-self.h_total // HISTORY_PER_PAGE))

    @rx.var
    def h_filtered(self) -> bool:
        """Whether any filter narrows the history."""
        return self._filtered()

    def _filtered(self) -> bool:
        return bool(
            self.h_search.strip()
            or self.h_status
            or self.h_model
            or self.h_size
            or self.h_from
            or self.h_to
            or self.h_favourites
        )

    @rx.var
    def h_total_text(self) -> str:
        """'12 tasks', in this browser's language."""
        return i18n.text("console.history_total", self.lang, count=self.h_total)

    @rx.var
    def history_models(self) -> list[str]:
        """The model filter's choices: any, then the models the person used."""
        return [ANY, *self.h_models]

    @rx.var
    def history_sizes(self) -> list[str]:
        """The size filter's choices: any, then the sizes on offer."""
        return [ANY, *generation.SIZES]

    @rx.var
    def h_statuses(self) -> list[str]:
        """The status filter's choices ("" = any)."""
        return [ANY, *history.STATUSES]

    def _history_fields(self) -> dict[str, object]:
        start, end = self.h_from, self.h_to
        if start or end:  # one day given: that day alone; `to` is included on the page
            first = start or end
            last = end or start
            try:
                end = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
            except ValueError:
                end = last
            start = first
        return {
            "q": self.h_search,
            "status": self.h_status,
            "model": self.h_model,
            "size": self.h_size,
            "from": start,
            "to": end,
            "favourite": self.h_favourites,
            "page": self.h_page,
            "per_page": HISTORY_PER_PAGE,
        }

    async def _read_history(self) -> None:
        """The history's page under the current filters (errors shown in place)."""
        try:
            filters = history.check_filters(self._history_fields(), zone=self.zone())
        except ImgappError as exc:
            self.h_error = describe(exc, self.lang).message
            return
        user_id, zone = self.user_id, self.zone()

        def read() -> tuple[list[dict[str, Any]], int, list[str]]:
            with db.read() as session:
                found = history.page(session, user_id=user_id, filters=filters)
                models = history.models_used(session, user_id=user_id)
                return task_views.snapshots(session, found.tasks), found.total, models

        snapshots, total, models = await asyncio.to_thread(read)
        self.h_error = ""
        self._h_rows = [task_row(s, zone) for s in snapshots]
        self.h_total = total
        self.h_models = models
        if self.h_page > self._pages() and total:  # past the end (after deletions): the last page
            self.h_page = self._pages()
            await self._read_history()

    @rx.event
    async def set_history_filter(self, name: str, value: str | bool) -> None:
        """Change one filter; the history goes back to its first page."""
        if name in {"h_search", "h_status", "h_model", "h_size", "h_from", "h_to"}:
            setattr(self, name, str(value))
        elif name == "h_favourites":
            self.h_favourites = bool(value)
        else:
            return
        self.h_page = 1
        self.confirm_delete = 0
        await self._read_history()

    @rx.event
    async def clear_history_filters(self) -> None:
        """Show the whole history again."""
        self.h_search = self.h_status = self.h_model = self.h_size = ""
        self.h_from = self.h_to = ""
        self.h_favourites = False
        self.h_page = 1
        await self._read_history()

    @rx.event
    async def history_page(self, page: int) -> None:
        """Go to a page of the history."""
        self.h_page = max(1, min(int(page), self._pages()))
        self.confirm_delete = 0
        await self._read_history()

    @rx.event
    async def toggle_favourite(self, task_id: int) -> None:
        """Star or unstar a task (every open tab follows)."""
        row = next((r for r in [*self._h_rows, *self._rows] if r["id"] == task_id), None)
        if row is None:
            return
        try:
            starred = await asyncio.to_thread(
                task_flow.set_favourite,
                task_id=task_id,
                user_id=self.user_id,
                favourite=not row["favourite"],
            )
        except ImgappError as exc:
            yield rx.toast.error(describe(exc, self.lang).message)
            return
        self.apply_task(starred.snapshot)

    async def _set_shared(self, image_id: str, *, on: bool) -> str:
        """Turn an image's link on or off; answers the error to show ("" when done)."""
        try:
            changed = await asyncio.to_thread(
                task_flow.set_shared, image_id=int(image_id), user_id=self.user_id, shared=on
            )
        except ImgappError as exc:
            return describe(exc, self.lang).message
        self.apply_task(changed.snapshot)
        return ""

    @rx.event
    async def share_image(self, image_id: str) -> None:
        """Publish an image at its own unguessable link."""
        if error := await self._set_shared(image_id, on=True):
            yield rx.toast.error(error)

    @rx.event
    async def stop_sharing(self, image_id: str) -> None:
        """Take an image's link down: it stops working at once."""
        error = await self._set_shared(image_id, on=False)
        yield (
            rx.toast.error(error)
            if error
            else rx.toast.success(i18n.text("console.share_stopped", self.lang))
        )

    @rx.event
    def copy_link(self, link: str) -> rx.event.EventSpec:
        """Put a public link on the clipboard."""
        return rx.set_clipboard(link)

    @rx.event
    def ask_delete(self, task_id: int) -> None:
        """The first click on "delete": ask to confirm (0: never mind)."""
        self.confirm_delete = task_id

    @rx.event
    async def delete_task(self, task_id: int) -> None:
        """Delete a finished task for good (its images; the ledger stays as it was)."""
        self.confirm_delete = 0
        try:
            await asyncio.to_thread(task_flow.delete, task_id=task_id, user_id=self.user_id)
        except ImgappError as exc:
            yield rx.toast.error(describe(exc, self.lang).message)
            return
        self.forget_task(task_id)
        await self._read_history()
        yield rx.toast.success(i18n.text("console.deleted", self.lang))

    @rx.event
    async def retry_task(self, task_id: int) -> None:
        """Run a failed or cancelled task again as a new task (charged anew)."""
        if not self._retry_nonce:
            self._retry_nonce = uuid.uuid4().hex
        try:
            again = await asyncio.to_thread(
                task_flow.retry,
                task_id=task_id,
                user_id=self.user_id,
                provider=providers.configured_name(),
                request_id=f"retry-{task_id}-{self._retry_nonce}",
            )
        except ImgappError as exc:
            yield rx.toast.error(describe(exc, self.lang).message)
            return
        self.apply_task({**again.snapshot, "balance": again.balance})

    def forget_task(self, task_id: int) -> None:
        """A deleted task leaves the list and the history (another tab deleted it, or this one)."""
        self._rows = [r for r in self._rows if r["id"] != task_id]
        self.forget_task_in_history(task_id)

    def forget_task_in_history(self, task_id: int) -> None:
        """A task leaves the history page shown (deleted, or no longer matching)."""
        if any(r["id"] == task_id for r in self._h_rows):
            self._h_rows = [r for r in self._h_rows if r["id"] != task_id]
            self.h_total = max(0, self.h_total - 1)

    def _apply_history(self, row: dict[str, Any], shown: dict[str, Any] | None) -> None:
        """A task's change in the history: in place; a new one on top of an unfiltered page 1."""
        at = next((i for i, r in enumerate(self._h_rows) if r["id"] == row["id"]), None)
        if at is not None and self.h_favourites and not row["favourite"]:
            self.forget_task_in_history(row["id"])  # unstarred (here or in another tab)
        elif at is not None:
            if self._h_rows[at] != row:
                self._h_rows = [*self._h_rows[:at], row, *self._h_rows[at + 1 :]]
        elif (
            shown is None
            and self.h_page == 1
            and not self._filtered()
            and (not self._h_rows or row["id"] > self._h_rows[0]["id"])
        ):
            self._h_rows = [row, *self._h_rows][:HISTORY_PER_PAGE]
            self.h_total += 1

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
