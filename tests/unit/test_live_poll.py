"""The live bridge's safety net: a task version the bus brought to every tab is not pushed again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from imgapp.core import db, events
from imgapp.models.base import utcnow
from imgapp.services import generation, queue, task_views
from tests.support import aio
from tests.support.factories import funded_user

pytestmark = pytest.mark.usefixtures("engine")


async def _no_standings(_users: list[int]) -> None:
    """Queue standings are not what these tests watch (no Reflex app runs here)."""


def test_the_poll_pushes_only_what_the_bus_did_not_bring_to_every_tab(monkeypatch):
    from imgapp.live import bridge  # noqa: PLC0415 - imports the Reflex states

    user = funded_user(100)
    params = generation.Params(prompt="a quiet harbour", size="512x512", n=1)
    task_id = db.call(queue.submit, user_id=user.id, params=params, provider="local").task.id
    [snapshot] = db.call_read(task_views.snapshots_by_id, [task_id])
    open_tabs = ["tab-1"]
    pushed: list[str] = []

    async def push(_user_id: int, shown: dict[str, object]) -> int:
        pushed.append(str(shown["status"]))
        return len(open_tabs)

    async def nothing(_user_id: int) -> int:
        return 0

    monkeypatch.setattr(bridge, "push", push)
    monkeypatch.setattr(bridge, "refresh_usage", nothing)
    monkeypatch.setattr(bridge, "push_standings", _no_standings)
    monkeypatch.setattr(bridge.tabs, "users", lambda: [user.id])
    monkeypatch.setattr(bridge.tabs, "connected", lambda _user_id: list(open_tabs))
    monkeypatch.setattr(bridge.tabs, "sessions_in_use", list)
    since = utcnow() - timedelta(seconds=5)

    aio.run(bridge._on_event(events.Event("task", user.id, snapshot)))
    assert pushed == ["pending"]
    aio.run(bridge.poll_once(since))
    assert pushed == ["pending"], "the same version again"

    db.call(queue.cancel, task_id=task_id, user_id=user.id)  # a change the bus did not bring
    aio.run(bridge.poll_once(since))
    assert pushed == ["pending", "cancelled"]

    [cancelled] = db.call_read(task_views.snapshots_by_id, [task_id])
    aio.run(bridge._on_event(events.Event("task", user.id, cancelled)))
    open_tabs.append("tab-2")  # opened after the event: its page may have read too early
    aio.run(bridge.poll_once(since))
    assert pushed == ["pending", "cancelled", "cancelled", "cancelled"]


def test_the_poll_still_corrects_the_balance_when_it_skips_a_delivered_version(monkeypatch):
    """Events of other processes can arrive out of order, each with the balance at its commit."""
    from imgapp.live import bridge  # noqa: PLC0415 - imports the Reflex states

    user = funded_user(100)
    params = generation.Params(prompt="two boats", size="512x512", n=1)
    task_id = db.call(queue.submit, user_id=user.id, params=params, provider="local").task.id
    [snapshot] = db.call_read(task_views.snapshots_by_id, [task_id])
    balances: list[int] = []

    async def push(_user_id: int, _shown: dict[str, object]) -> int:
        return 1

    async def push_balance(_user_id: int, balance: int) -> int:
        balances.append(balance)
        return 1

    async def nothing(_user_id: int) -> int:
        return 0

    monkeypatch.setattr(bridge, "push", push)
    monkeypatch.setattr(bridge, "push_balance", push_balance)
    monkeypatch.setattr(bridge, "refresh_usage", nothing)
    monkeypatch.setattr(bridge, "push_standings", _no_standings)
    monkeypatch.setattr(bridge.tabs, "users", lambda: [user.id])
    monkeypatch.setattr(bridge.tabs, "connected", lambda _user_id: ["tab-1"])
    monkeypatch.setattr(bridge.tabs, "sessions_in_use", list)
    stale = {**snapshot, "balance": 100}  # a late event's balance, before the charge
    aio.run(bridge._on_event(events.Event("task", user.id, stale)))
    aio.run(bridge.poll_once(utcnow() - timedelta(seconds=5)))
    assert balances == [100 - generation.cost(params)], "the balance as the database has it"
