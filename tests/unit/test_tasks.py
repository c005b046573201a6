"""The generation queue's state machine and its money, on this run's database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from imgapp.core import db
from imgapp.models import LedgerEntry, Task, TaskStatus
from imgapp.models.base import utcnow
from imgapp.services import generation, ledger, queue, task_views
from imgapp.services.errors import InsufficientCredits, NotFound, TaskFinished, ValidationFailed
from tests.support.factories import balance_of, funded_user

pytestmark = pytest.mark.usefixtures("engine")

PARAMS = generation.Params(prompt="a red fox in snow", size="512x512", n=2, model="gpt-image-1")


def _submit(user_id: int, request_id: str | None = None, params=PARAMS) -> queue.Submitted:
    return db.call(
        queue.submit, user_id=user_id, params=params, provider="local", request_id=request_id
    )


def _claim(worker: str = "w1", limit: int = 10, lease: int = 30) -> list[Task]:
    return db.call(queue.claim, worker_id=worker, limit=limit, lease_seconds=lease)


def _task(task_id: int) -> Task:
    with db.read() as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task


def test_price_list():
    assert generation.cost(PARAMS) == 8
    hd = generation.Params(prompt="x", size="1024x1536", n=3, quality="hd")
    assert generation.cost(hd) == 12 * 2 * 3


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ({"prompt": "  "}, "prompt_required"),
        ({}, "prompt_required"),
        ({"prompt": "x" * 4001}, "prompt_too_long"),
        ({"prompt": "ok", "n": 0}, "image_count_range"),
        ({"prompt": "ok", "n": 5}, "image_count_range"),
        ({"prompt": "ok", "n": "2"}, "image_count_range"),
        ({"prompt": "ok", "size": "640x480"}, "size_unknown"),
        ({"prompt": "ok", "model": "midjourney"}, "model_unknown"),
        ({"prompt": "ok", "quality": "ultra"}, "quality_unknown"),
        ({"prompt": 5}, "field_not_text"),
    ],
)
def test_bad_parameters_say_what_to_fix(raw, rule):
    with pytest.raises(ValidationFailed) as caught:
        generation.validate(raw)
    assert caught.value.rule == rule


def test_submit_charges_in_the_same_transaction():
    user = funded_user(100)
    submitted = _submit(user.id)
    assert submitted.balance == 92
    assert submitted.task.status == TaskStatus.PENDING
    assert submitted.task.cost == 8
    entry = db.call_read(ledger.entry_by_key, queue.charge_key(submitted.task.id))
    assert entry is not None
    assert entry.amount == -8


def test_insufficient_credits_makes_no_task():
    user = funded_user(7)
    with pytest.raises(InsufficientCredits):
        _submit(user.id)
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(Task)).one() == 0
    assert balance_of(user.id) == 7


def test_the_same_request_id_makes_one_task_charged_once():
    user = funded_user(100)
    first = _submit(user.id, request_id="click-1")
    again = _submit(user.id, request_id="click-1")
    assert again.replayed
    assert again.task.id == first.task.id
    assert balance_of(user.id) == 92


def test_claim_complete_keeps_the_charge():
    user = funded_user(100)
    task_id = _submit(user.id).task.id
    [claimed] = _claim()
    assert (claimed.id, claimed.status, claimed.attempts) == (task_id, "processing", 1)
    assert _claim() == []  # nothing else pending
    image = queue.StoredImage("images/x.png", "image/png", 512, 512, 10)
    assert db.call(
        queue.complete, task_id=task_id, worker_id="w1", provider="local", images=[image, image]
    )
    done = _task(task_id)
    assert (done.status, done.progress, done.refunded) == ("completed", 100, 0)
    assert len(db.call_read(task_views.images_of, [task_id])[task_id]) == 2
    assert balance_of(user.id) == 92


def test_cancel_pending_refunds_once_and_twice_is_409():
    user = funded_user(100)
    task_id = _submit(user.id).task.id
    ended = db.call(queue.cancel, task_id=task_id, user_id=user.id)
    assert ended.refunded == 8
    assert ended.balance == 100
    assert balance_of(user.id) == 100
    with pytest.raises(TaskFinished):
        db.call(queue.cancel, task_id=task_id, user_id=user.id)
    assert balance_of(user.id) == 100
    assert _claim() == []


def test_cancel_while_processing_stops_the_processor_writing():
    user = funded_user(100)
    task_id = _submit(user.id).task.id
    _claim()
    db.call(queue.cancel, task_id=task_id, user_id=user.id)
    assert not db.call(queue.heartbeat, task_id=task_id, worker_id="w1", lease_seconds=30)
    assert not db.call(queue.complete, task_id=task_id, worker_id="w1", provider="local", images=[])
    assert db.call(queue.fail, task_id=task_id, worker_id="w1", error="x", message="x") is None
    assert _task(task_id).status == "cancelled"
    assert balance_of(user.id) == 100


def test_someone_elses_task_is_not_found():
    owner = funded_user(100)
    other = funded_user(100)
    task_id = _submit(owner.id).task.id
    with pytest.raises(NotFound):
        db.call(queue.cancel, task_id=task_id, user_id=other.id)
    with pytest.raises(NotFound):
        db.call_read(task_views.get, task_id=task_id, user_id=other.id)


def test_completed_task_cannot_be_cancelled():
    user = funded_user(100)
    task_id = _submit(user.id).task.id
    _claim()
    db.call(queue.complete, task_id=task_id, worker_id="w1", provider="local", images=[])
    with pytest.raises(TaskFinished) as caught:
        db.call(queue.cancel, task_id=task_id, user_id=user.id)
    assert caught.value.status == "completed"
    assert balance_of(user.id) == 92


def test_failure_refunds_exactly_once():
    user = funded_user(100)
    task_id = _submit(user.id).task.id
    _claim()
    ended = db.call(queue.fail, task_id=task_id, worker_id="w1", error="boom", message="m")
    assert ended.refunded == 8
    assert ended.balance == 100
    assert db.call(queue.fail, task_id=task_id, worker_id="w1", error="boom", message="m") is None
    assert balance_of(user.id) == 100
    with db.read() as session:
        refunds = session.exec(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "refund")
        ).one()
    assert refunds == 1


def _expire(task_id: int) -> None:
    with db.transaction() as session:
        session.execute(
            update(Task)
            .where(col(Task.id) == task_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


def test_an_expired_lease_is_retried_then_failed_with_refund():
    user = funded_user(100)
    task_id = _submit(user.id).task.id
    for attempt in (1, 2):
        [claimed] = _claim(worker=f"w{attempt}")
        assert claimed.attempts == attempt
        _expire(task_id)
        recovery = db.call(queue.recover_expired, max_attempts=3)
        assert recovery.requeued == [task_id]
    _claim(worker="w3")
    _expire(task_id)
    recovery = db.call(queue.recover_expired, max_attempts=3)
    assert recovery.failed == [task_id]
    assert _task(task_id).status == "failed"
    assert balance_of(user.id) == 100


def test_a_processor_that_lost_its_lease_cannot_complete():
    user = funded_user(100)
    task_id = _submit(user.id).task.id
    _claim(worker="old")
    _expire(task_id)
    db.call(queue.recover_expired, max_attempts=3)
    _claim(worker="new")
    assert not db.call(
        queue.complete, task_id=task_id, worker_id="old", provider="local", images=[]
    )
    assert db.call(queue.complete, task_id=task_id, worker_id="new", provider="local", images=[])


def test_release_gives_the_task_back_without_using_an_attempt():
    user = funded_user(100)
    task_id = _submit(user.id).task.id
    _claim()
    assert db.call(queue.release, task_id=task_id, worker_id="w1")
    task = _task(task_id)
    assert (task.status, task.attempts, task.worker_id) == ("pending", 0, None)


def test_completions_recorded_together_keep_only_what_is_still_ours():
    user = funded_user(1000)
    ids = [_submit(user.id).task.id for _ in range(4)]
    _claim("w1")
    db.call(queue.cancel, task_id=ids[1], user_id=user.id)
    stored = queue.StoredImage("x/1.png", "image/png", 512, 512, 10)
    completions = [
        queue.Completion(ids[0], "local", [stored, stored]),
        queue.Completion(ids[1], "local", [stored]),  # cancelled meanwhile
        queue.Completion(ids[2], "openai", [stored]),
    ]
    kept, claimed = db.call(
        queue.complete_many, worker_id="w1", completions=completions, claim_next=2
    )
    assert kept == [True, False, True]
    assert claimed == []  # ids[3] is still w1's: nothing pending to claim
    assert [_task(i).status for i in ids] == ["completed", "cancelled", "completed", "processing"]
    assert (_task(ids[0]).provider, _task(ids[2]).provider) == ("local", "openai")
    found = db.call_read(task_views.images_of, ids)
    assert {i: [(im.position, im.provider) for im in found.get(i, [])] for i in ids} == {
        ids[0]: [(0, "local"), (1, "local")],
        ids[1]: [],
        ids[2]: [(0, "openai")],
        ids[3]: [],
    }
    assert not db.call(
        queue.complete_many, worker_id="w2", completions=[queue.Completion(ids[3], "local", [])]
    )[0][0], "another processor's task"
    assert balance_of(user.id) == 1000 - 4 * 8 + 8  # four charged, the cancelled one refunded
