"""The task actions (flows.tasks): each answers, and announces, what its transaction knew."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from imgapp.core import db, events
from imgapp.flows import tasks as task_flow
from imgapp.models import Task
from imgapp.models.base import utcnow
from imgapp.services import generation, queue
from imgapp.services.errors import NotFound, TaskFinished
from tests.support.factories import funded_user

pytestmark = pytest.mark.usefixtures("engine")

PARAMS = generation.Params(prompt="a quiet harbour", size="512x512", n=2, model="gpt-image-1")


async def _announced(action, *args, **kwargs) -> tuple[object, list[events.Event]]:
    """Run `action` in a thread with a subscriber listening; the result and what it heard."""
    heard: list[events.Event] = []

    async def listen(event: events.Event) -> None:
        heard.append(event)

    stop = events.subscribe(listen)
    try:
        result = await asyncio.to_thread(action, *args, **kwargs)
        for _ in range(50):  # delivery is call_soon_threadsafe + a task
            await asyncio.sleep(0.01)
            if heard:
                break
    finally:
        stop()
    return result, heard


def test_submit_answers_the_snapshot_and_balance_and_announces_them():
    user = funded_user(100)
    outcome, heard = asyncio.run(
        _announced(task_flow.submit, user_id=user.id, params=PARAMS, provider="local")
    )
    assert outcome.balance == 100 - 8
    assert outcome.snapshot["status"] == "pending"
    assert outcome.snapshot["cost"] == 8
    assert not outcome.replayed
    [event] = heard
    assert event.topic == "task"
    assert event.user_id == user.id
    assert event.data["id"] == outcome.task_id
    assert event.data["balance"] == 92


def test_a_replayed_submit_announces_nothing_new():
    user = funded_user(100)
    first = task_flow.submit(user_id=user.id, params=PARAMS, provider="local", request_id="r1")
    again, heard = asyncio.run(
        _announced(
            task_flow.submit, user_id=user.id, params=PARAMS, provider="local", request_id="r1"
        )
    )
    assert again.replayed
    assert again.task_id == first.task_id
    assert again.balance == 92
    assert heard == []


def test_cancel_answers_the_cancelled_task_refund_and_balance():
    user = funded_user(100)
    task_id = task_flow.submit(user_id=user.id, params=PARAMS, provider="local").task_id
    outcome, heard = asyncio.run(_announced(task_flow.cancel, task_id=task_id, user_id=user.id))
    assert outcome.refunded == 8
    assert outcome.balance == 100
    assert outcome.snapshot["status"] == "cancelled"
    assert outcome.snapshot["refunded"] == 8
    [event] = heard
    assert event.data["status"] == "cancelled"
    assert event.data["balance"] == 100
    with pytest.raises(TaskFinished):
        task_flow.cancel(task_id=task_id, user_id=user.id)


def test_cancel_of_someone_elses_task_is_not_found_and_changes_nothing():
    owner = funded_user(100)
    other = funded_user(100)
    task_id = task_flow.submit(user_id=owner.id, params=PARAMS, provider="local").task_id
    with pytest.raises(NotFound):
        task_flow.cancel(task_id=task_id, user_id=other.id)
    assert task_flow.cancel(task_id=task_id, user_id=owner.id).balance == 100


def test_fail_answers_the_failed_task_and_balance_once():
    user = funded_user(100)
    task_id = task_flow.submit(user_id=user.id, params=PARAMS, provider="local").task_id
    db.call(queue.claim, worker_id="w1", limit=1, lease_seconds=30)
    outcome, heard = asyncio.run(
        _announced(
            task_flow.fail,
            task_id=task_id,
            worker_id="w1",
            error="provider said no",
            message_key="task.msg.content_policy",
        )
    )
    assert outcome.snapshot["status"] == "failed"
    assert outcome.snapshot["message_key"] == "task.msg.content_policy"
    assert outcome.balance == 100
    assert [e.data["balance"] for e in heard] == [100]
    again = task_flow.fail(task_id=task_id, worker_id="w1", error="x", message_key="x")
    assert again is None


def test_recovery_announces_the_failed_task_with_its_owners_balance():
    user = funded_user(100)
    task_id = task_flow.submit(user_id=user.id, params=PARAMS, provider="local").task_id
    db.call(queue.claim, worker_id="gone", limit=1, lease_seconds=30)
    with db.transaction() as session:
        session.execute(
            update(Task)
            .where(Task.id == task_id)  # type: ignore[arg-type]
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    recovery, heard = asyncio.run(_announced(task_flow.recover, max_attempts=1))
    assert recovery.failed == [task_id]
    assert recovery.balances == {task_id: 100}
    [event] = heard
    assert event.data["status"] == "failed"
    assert event.data["balance"] == 100
