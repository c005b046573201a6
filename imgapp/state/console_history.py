"""The console's history, as a state mixin: filters, pages, star, share, delete, retry.

`ConsoleState` mixes it in, so the history and the live task list share one
state and one `apply_task`: a change to a task shown in both moves both. The
history reads a page of the person's tasks under its filters
(`services/history`); a live change updates a shown row in place, and a new
task goes on top of an unfiltered first page, without reading again.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import reflex as rx

from imgapp.core import db, i18n
from imgapp.flows import tasks as task_flow
from imgapp.gateways import providers
from imgapp.services import generation, history, task_views
from imgapp.services.errors import ImgappError, describe
from imgapp.state.task_rows import HistoryItem, task_row

ANY = ""  # a history filter's "any" (status, model, size)
HISTORY_PER_PAGE = 12


class HistoryMixin(rx.State, mixin=True):
    """The history's filters, its page of rows, and what it does with a task."""

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
        if self.h_from and self.h_to and self.h_to < self.h_from:  # both YYYY-MM-DD
            self.h_error = i18n.text("console.history_range_backwards", self.lang)
            return
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
