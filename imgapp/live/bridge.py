"""The live bridge: task, payment and balance changes -> every open page of their user.

Signed-in pages register their tab (`tabs.register`); a tab counts
while Reflex still has a socket for it (`event_namespace.token_to_sid`).
Two sources feed the pushes:
  * events published in this process (the in-app processor, the API, the
    console), delivered at once;
  * a catch-up poll of the database every `LIVE_POLL_SECONDS` for tasks of
    connected users changed by other processes (standalone workers, other app
    processes), so no broker is needed for correctness.
Each push is `app.modify_state(...)`: it reaches the browser without a reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import reflex as rx

from imgapp.core import db, events
from imgapp.core.settings import get_settings
from imgapp.models.base import utcnow
from imgapp.services import ledger, task_views
from imgapp.state import tabs
from imgapp.state.app import AppState
from imgapp.state.console import ConsoleState
from imgapp.state.recharge import RechargeState

log = logging.getLogger(__name__)


async def _each_tab(user_id: int, cls: type[AppState], apply: Callable[[Any], None]) -> int:
    """Run `apply` on the `cls` state of each open page of the user; how many were reached."""
    reached = 0
    for token in tabs.connected(user_id):
        try:
            async with tabs.app().modify_state(rx.BaseStateToken(ident=token, cls=cls)) as root:
                page = await root.get_state(cls)
                if page.user_id != user_id:
                    continue
                apply(page)
            reached += 1
        except Exception:  # one closed tab must not stop the others
            log.warning("live push to a tab failed", exc_info=True)
    return reached


async def push(user_id: int, snapshot: dict[str, Any]) -> int:
    """Apply a task snapshot to each open page of the user; returns how many were reached."""
    return await _each_tab(user_id, ConsoleState, lambda page: page.apply_task(snapshot))


async def push_payment(user_id: int, data: dict[str, Any]) -> int:
    """An order of the user changed: its status and the new balance, on each open page."""
    return await _each_tab(user_id, RechargeState, lambda page: page.apply_payment(data))


async def _on_event(event: events.Event) -> None:
    if event.topic == "task":
        await push(event.user_id, event.data)
    elif event.topic == "payment":
        await push_payment(event.user_id, event.data)


async def _catch_up(poll_seconds: float) -> None:
    since = utcnow()
    while True:
        await asyncio.sleep(poll_seconds)
        users = tabs.users()
        checked_at = utcnow()
        if not users:
            since = checked_at
            continue
        # A little overlap: a commit's updated_at can be stamped before it is visible.
        window = since - timedelta(seconds=2)

        def read(users: list[int] = users, window: object = window) -> list[tuple[int, dict]]:
            with db.read() as session:
                changed = task_views.changed_since(session, user_ids=users, since=window)
                shots = task_views.snapshots(session, changed)
                balances = {
                    u: ledger.balance(session, user_id=u) for u in {t.user_id for t in changed}
                }
            return [
                (t.user_id, {**s, "balance": balances[t.user_id]})
                for t, s in zip(changed, shots, strict=True)
            ]

        try:
            for user_id, snapshot in await asyncio.to_thread(read):
                await push(user_id, snapshot)
        except Exception:
            log.exception("live catch-up failed; retrying")
        since = checked_at


@contextlib.asynccontextmanager
async def bridge(app: Any) -> AsyncIterator[None]:
    """The Reflex lifespan task: subscribe to events and run the catch-up poll."""
    tabs.attach(app)
    unsubscribe = events.subscribe(_on_event)
    poller = asyncio.create_task(_catch_up(get_settings().live_poll_seconds))
    try:
        yield
    finally:
        poller.cancel()
        unsubscribe()
