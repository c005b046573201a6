"""The live bridge: task, payment and balance changes -> every open page of their user.

Signed-in pages register their tab (`tabs.register`); a tab counts
while Reflex still has a socket for it (`event_namespace.token_to_sid`).
Three sources feed the pushes:
  * events (`core.events`) published in any process: this one's delivered at
    once, other processes' (other app processes, standalone workers, the CLI)
    through the cross-process bus (PostgreSQL LISTEN/NOTIFY or Redis pub/sub)
    that the lifespan task listens to. Each app process pushes to the tabs
    whose sockets it holds, so every tab hears an event once;
  * after the bus (re)connects, a catch-up of every open page (`catch_up`):
    the balance, the recharge page's orders, the latest tasks, the usage,
    invites and security pages, and sessions ended meanwhile: what was
    published while the connection was down is read from the database;
  * a safety net every `LIVE_POLL_SECONDS`: tasks of connected users changed in
    the database (the only source with the memory bus and several processes)
    and the sessions of open tabs that ended elsewhere (expiry included). A
    task version the bus already brought to every tab is not pushed again.
    The same round sends each open console its active tasks' queue places and
    times to go when they changed (`push_standings`, `state.standings`).
An event too large for the transport arrives as a reference (`Event.partial`):
the bridge reads the task (or the sessions) from the database instead.
Each push is `app.modify_state(...)`: it reaches the browser without a reload.
The time from an event's publication to its pushes applied is observed as
`imgapp_push_latency_seconds` (events of this process; the catch-up is not timed).
Task snapshots go to the console (`ConsoleState.apply_task`), order changes
to the recharge page (`RechargeState.apply_payment`), invite news (a new
invitee, a reward and the balance after) to the header and the invites page
(`InvitesState.refresh`), a revoked session to sign-in (every tab signed in
with it, `end_sessions`), a new device's sign-in to the user's other tabs
(`AppState.show_new_device`) and their open security page; and whenever the report
could have changed (money moved: a charge, a refund, a payment; or a task
finished) each open usage page reads its report again (`UsageState.refresh`).
A page that (re)connects its socket runs its `load` again: it reads the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import reflex as rx
from reflex.event import Event
from reflex.state import StateUpdate

from imgapp.core import db, events, metrics, routes
from imgapp.core.settings import get_settings
from imgapp.models import Task, TaskStatus
from imgapp.models.base import require_id, utcnow
from imgapp.models.tasks import ACTIVE
from imgapp.services import ledger, sessions, task_views
from imgapp.state import standings, tabs
from imgapp.state.app import AppState, current_path
from imgapp.state.console import RECENT_TASKS, ConsoleState
from imgapp.state.invites import InvitesState
from imgapp.state.recharge import RechargeState
from imgapp.state.security import SecurityState
from imgapp.state.usage import UsageState

log = logging.getLogger(__name__)

# Task versions the bus brought to the user's tabs: task id -> (updated_at in
# epoch microseconds, the tabs open then). The safety-net poll does not push
# such a version again unless a tab has opened since; a user whose push to a
# tab failed is pushed to by the next poll regardless.
_delivered: dict[int, tuple[int, frozenset[str]]] = {}
_missed_users: set[int] = set()
# The queue standings last pushed to each connected user's consoles.
_standings_shown: dict[int, standings.Standings] = {}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _version(when: datetime | str | None) -> int:
    """A task's `updated_at` as exact epoch microseconds (0 when missing)."""
    return (
        0 if when is None else (task_views.stored_time(when) - _EPOCH) // timedelta(microseconds=1)
    )


def _already_shown(user_id: int, snapshot: dict[str, Any]) -> bool:
    """Whether every open tab of the user took this very version of the task from the bus."""
    stamp, tabs_then = _delivered.get(int(snapshot["id"]), (0, frozenset()))
    if stamp != _version(snapshot["updated_at"]):
        return False
    return set(tabs.connected(user_id)) <= tabs_then


def _forget_delivered(before: datetime) -> None:
    """Versions older than anything the poll reads again are of no more use."""
    oldest = _version(before)
    for task_id in [i for i, (stamp, _) in _delivered.items() if stamp < oldest]:
        del _delivered[task_id]


async def _each_tab(
    user_id: int,
    cls: type[AppState],
    apply: Callable[[Any], Awaitable[None] | None],
    *,
    on_path: str | None = None,
) -> int:
    """Run `apply` on the `cls` state of each open page of the user; how many were reached.

    With `on_path`, only tabs showing that page now (others read it afresh when they open it).
    """
    reached = 0
    for token in tabs.connected(user_id):
        try:
            async with tabs.app().modify_state(rx.BaseStateToken(ident=token, cls=cls)) as root:
                if on_path is not None and root.router.url.path.rstrip("/") != on_path:
                    continue
                page = await root.get_state(cls)
                if page.user_id != user_id:
                    continue
                applied = apply(page)
                if applied is not None:
                    await applied
            reached += 1
        except Exception:  # one closed tab must not stop the others
            log.warning("live push to a tab failed", exc_info=True)
            _missed_users.add(user_id)
    return reached


async def push(user_id: int, snapshot: dict[str, Any]) -> int:
    """Apply a task snapshot to each open page of the user; returns how many were reached."""
    return await _each_tab(user_id, ConsoleState, lambda page: page.apply_task(snapshot))


async def push_standings(users: list[int]) -> None:
    """Each open console's queue places and times to go, to the users whose changed.

    A user whose push to a tab failed (this round, for anything) gets them again
    next round.
    """
    found = await asyncio.to_thread(standings.by_user, set(users))
    for user_id in users:
        now = found.get(user_id, {})
        if _standings_shown.get(user_id) == now:
            continue
        await _each_tab(
            user_id,
            ConsoleState,
            lambda page, now=now: page.apply_standings(now),
            on_path=routes.CONSOLE,
        )
        if user_id in _missed_users:
            _standings_shown.pop(user_id, None)
        else:
            _standings_shown[user_id] = now
    for gone in set(_standings_shown) - set(users):
        del _standings_shown[gone]


async def push_payment(user_id: int, data: dict[str, Any]) -> int:
    """An order of the user changed: its status and the new balance, on each open page."""
    return await _each_tab(user_id, RechargeState, lambda page: page.apply_payment(data))


async def push_balance(user_id: int, balance: int) -> int:
    """The user's balance moved outside their own pages (an invite reward): each header shows it."""

    def apply(page: AppState) -> None:
        if page.balance != balance:  # the same figure again sends the page nothing
            page.balance = balance

    return await _each_tab(user_id, AppState, apply)


async def refresh_usage(user_id: int) -> int:
    """The user's report may have changed: each open usage page reads it again."""
    return await _each_tab(user_id, UsageState, lambda page: page.refresh(), on_path=routes.USAGE)


async def refresh_invites(user_id: int) -> int:
    """Someone joined with the code, or a reward moved: each open invites page reads again."""
    return await _each_tab(
        user_id, InvitesState, lambda page: page.refresh(), on_path=routes.INVITES
    )


async def end_sessions(session_ids: set[int]) -> int:
    """Send every open tab signed in with one of these sessions to sign-in, now."""
    app = tabs.app()
    ended = 0
    for session_id, open_tabs in tabs.sessions_in_use().items():
        if session_id not in session_ids:
            continue
        for _user_id, token in open_tabs:
            try:
                async with app.modify_state(rx.BaseStateToken(ident=token, cls=AppState)) as root:
                    page = await root.get_state(AppState)
                    if page.session_id != session_id:
                        continue
                    target = routes.login_url(current_path(page), ended="1")
                    page._forget()  # noqa: SLF001 - the bridge ends what the guard would
                redirect = StateUpdate(events=Event.from_event_type([rx.redirect(target)]))
                await app.event_namespace.emit_update(update=redirect, token=token)
                ended += 1
            except Exception:  # one closed tab must not stop the others
                log.warning("ending a tab's session failed", exc_info=True)
    return ended


async def show_new_device(user_id: int, data: dict[str, Any]) -> int:
    """A sign-in from a new device: every other open page of the user asks "was it you?"."""
    new_session = int(data.get("session_id") or 0)

    def apply(page: AppState) -> None:
        if page.session_id != new_session:
            page.show_new_device(data)

    return await _each_tab(user_id, AppState, apply)


async def refresh_security(user_id: int) -> int:
    """The user's sessions changed: each open security page reads them again."""
    return await _each_tab(
        user_id, SecurityState, lambda page: page.refresh(), on_path=routes.SECURITY
    )


# The status each task last refreshed the usage pages for. The catch-up sees a
# change for a few rounds, and also sees this process's own changes, but the
# report moved once. Bounded: only recent tasks can still change.
_reported: OrderedDict[int, str] = OrderedDict()
_REPORTED_MAX = 10_000


def _first_report(task_id: int, status: str) -> bool:
    """Whether the usage pages were not yet refreshed for this task in this status."""
    if _reported.get(task_id) == status:
        return False
    _reported[task_id] = status
    _reported.move_to_end(task_id)
    while len(_reported) > _REPORTED_MAX:
        _reported.popitem(last=False)
    return True


def _moves_report(snapshot: dict[str, Any]) -> bool:
    """A task event moved money (it carries the balance after) or ended the task."""
    status = str(snapshot.get("status") or "")
    moved = snapshot.get("balance") is not None or status not in ACTIVE
    return moved and _first_report(int(snapshot.get("id") or 0), status)


def _read_task(task_id: int, balance: object) -> dict[str, Any] | None:
    """A task's snapshot from the database (an event that arrived as a reference)."""
    with db.read() as session:
        found = task_views.snapshots_by_id(session, [task_id])
    if not found:
        return None
    return found[0] if balance is None else {**found[0], "balance": balance}


async def _complete(event: events.Event) -> events.Event | None:
    """The event with its full data: a reference is read again from the database."""
    if not event.partial:
        return event
    if event.topic == "task":
        task_id = event.data.get("id")
        if task_id is None:
            await catch_up_user(event.user_id)
            return None
        snapshot = await asyncio.to_thread(
            _read_task,
            int(task_id),  # type: ignore[call-overload]
            event.data.get("balance"),
        )
        return None if snapshot is None else events.Event("task", event.user_id, snapshot)
    if event.topic == "session" and event.data.get("kind") == "revoked":
        await _end_revoked_sessions()  # which sessions ended: the database says
        await refresh_security(event.user_id)
        return None
    return event  # payments and invites carry small fields only: nothing was left out


async def _on_event(event: events.Event) -> None:
    completed = await _complete(event)
    if completed is None:
        return
    open_tabs = frozenset(tabs.connected(completed.user_id))
    reached = await _apply(completed)
    if open_tabs and completed.topic == "task" and completed.data.get("id") is not None:
        stamp = _version(completed.data.get("updated_at"))
        _delivered[int(completed.data["id"])] = (stamp, open_tabs)
    if reached:  # an event no open page showed was pushed nowhere: no latency to speak of
        metrics.record_push(time.time() - event.published_at)


async def _apply_task(event: events.Event) -> int:
    if event.data.get("deleted"):  # its owner deleted it: it leaves their pages; no money moved
        return await push(event.user_id, event.data)
    if event.data.get("status") == TaskStatus.COMPLETED.value:
        standings.forget_durations()  # a new duration to estimate from
    reached = await push(event.user_id, event.data)
    if _moves_report(event.data):
        reached += await refresh_usage(event.user_id)
    return reached


async def _apply(event: events.Event) -> int:
    """Push one event to the open pages it concerns; how many pushes reached a tab."""
    reached = 0
    if event.topic == "task":
        reached += await _apply_task(event)
    elif event.topic == "payment":
        reached += await push_payment(event.user_id, event.data)
        reached += await refresh_usage(event.user_id)
    elif event.topic == "invite":
        if event.data.get("balance") is not None:
            reached += await push_balance(event.user_id, int(event.data["balance"]))  # type: ignore[call-overload]
            reached += await refresh_usage(event.user_id)
        reached += await refresh_invites(event.user_id)
    elif event.topic == "session":
        if event.data.get("kind") == "revoked":
            ids = event.data.get("session_ids") or []
            reached += await end_sessions({int(i) for i in ids})  # type: ignore[attr-defined]
        elif event.data.get("kind") == "new_device":
            reached += await show_new_device(event.user_id, event.data)
        reached += await refresh_security(event.user_id)
    return reached


def _read_user(user_id: int) -> tuple[int, list[dict[str, Any]]]:
    with db.read() as session:
        balance = ledger.balance(session, user_id=user_id)
        latest = task_views.recent(session, user_id=user_id, limit=RECENT_TASKS)
        return balance, task_views.snapshots(session, latest)


async def catch_up_user(user_id: int) -> None:
    """Everything the user's open pages show, read again: events may have been missed."""
    balance, snapshots = await asyncio.to_thread(_read_user, user_id)
    await push_balance(user_id, balance)

    def apply(page: ConsoleState) -> None:
        for snapshot in reversed(snapshots):  # oldest first, as they happened
            page.apply_task(snapshot)

    await _each_tab(user_id, ConsoleState, apply)
    await _each_tab(user_id, RechargeState, lambda page: page.refresh(), on_path=routes.RECHARGE)
    await refresh_usage(user_id)
    await refresh_invites(user_id)
    await refresh_security(user_id)


async def catch_up() -> None:
    """After the event bus (re)connected: every connected user's pages read the database."""
    try:
        await _end_revoked_sessions()
    except Exception:
        log.exception("live session check after a reconnect failed")
    for user_id in tabs.users():
        try:
            await catch_up_user(user_id)
        except Exception:
            log.exception("catching up user %s after a reconnect failed", user_id)


def _charged_or_ended(task: Task, since: datetime) -> bool:
    """What the catch-up counts as a change of the report: new (charged) or ended (refunded)."""
    new = task.status == TaskStatus.PENDING and task.created_at > since
    return new or task.status not in ACTIVE


async def _end_revoked_sessions() -> None:
    """Tabs whose session ended elsewhere (another process, an operator, expiry) leave."""
    in_use = list(tabs.sessions_in_use())
    if in_use:
        ended = await asyncio.to_thread(db.call_read, sessions.ended_among, session_ids=in_use)
        if ended:
            await end_sessions(set(ended))


async def _catch_up(poll_seconds: float) -> None:
    since = utcnow()
    while True:
        await asyncio.sleep(poll_seconds)
        since = await poll_once(since)


async def poll_once(since: datetime) -> datetime:
    """The safety net's round: tasks changed since `since` (with overlap), ended sessions.

    Answers the time to start the next round from.
    """
    try:
        await _end_revoked_sessions()
    except Exception:
        log.exception("live session check failed; retrying")
    users = tabs.users()
    checked_at = utcnow()
    # A little overlap: a commit's updated_at can be stamped before it is visible.
    window = since - timedelta(seconds=2)
    _forget_delivered(window)
    if not users:
        return checked_at

    def read() -> tuple[list[tuple[int, dict]], list[tuple[int, int, str]]]:
        with db.read() as session:
            changed = task_views.changed_since(session, user_ids=users, since=window)
            shots = task_views.snapshots(session, changed)
            balances = {u: ledger.balance(session, user_id=u) for u in {t.user_id for t in changed}}
        pushes = [
            (t.user_id, {**s, "balance": balances[t.user_id]})
            for t, s in zip(changed, shots, strict=True)
        ]
        moved = [
            (t.user_id, require_id(t.id), t.status) for t in changed if _charged_or_ended(t, window)
        ]
        return pushes, moved

    try:
        pushes, moved = await asyncio.to_thread(read)
        missed = set(_missed_users)
        _missed_users.clear()
        balances: dict[int, int] = {}
        for user_id, snapshot in pushes:
            if user_id not in missed and _already_shown(user_id, snapshot):
                # The bus brought this very version to every tab; the balance
                # read now still goes (events of other processes can arrive
                # out of order, each with the balance at its own commit).
                balances[user_id] = int(snapshot["balance"])
                continue
            await push(user_id, snapshot)
        for user_id, balance in balances.items():
            await push_balance(user_id, balance)
        reports = {u for u, task_id, status in moved if _first_report(task_id, status)}
        for user_id in reports:
            await refresh_usage(user_id)
        await push_standings(users)
    except Exception:
        log.exception("live catch-up failed; retrying")
    return checked_at


@contextlib.asynccontextmanager
async def bridge(app: Any) -> AsyncIterator[None]:
    """The Reflex lifespan task: subscribe, listen to the bus, run the catch-up poll."""
    tabs.attach(app)
    unsubscribe = events.subscribe(_on_event)
    listener = asyncio.create_task(events.listen(catch_up), name="imgapp-event-bus")
    poller = asyncio.create_task(_catch_up(get_settings().live_poll_seconds))
    log.info("live bridge: %s event bus", events.transport())
    try:
        yield
    finally:
        poller.cancel()
        listener.cancel()
        unsubscribe()
