"""Fair share between people in the queue: turns, the running cap, the waiting cap."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import func, select

from imgapp.core import db
from imgapp.flows import tasks as task_flow
from imgapp.models import Task
from imgapp.services import generation, ledger, queue
from imgapp.services.errors import QueueFull
from imgapp.worker.processor import Processor
from tests.support import aio
from tests.support.factories import balance_of, funded_user

pytestmark = pytest.mark.usefixtures("engine")

PARAMS = generation.Params(prompt="a lighthouse at dusk", size="512x512", n=1, model="gpt-image-1")
COST = generation.cost(PARAMS)


def _submit(user_id: int) -> int:
    return task_flow.submit(user_id=user_id, params=PARAMS, provider="local").task_id


def _turns(task_ids: list[int]) -> list[int]:
    with db.read() as session:
        found = {t.id: t.queue_turn for t in session.exec(select(Task)).all()}
    return [found[i] for i in task_ids]


def _claim(limit: int, running_cap: int = 0, worker: str = "w1") -> list[Task]:
    return db.call(
        queue.claim, worker_id=worker, limit=limit, lease_seconds=30, running_cap=running_cap
    )


def test_a_newcomer_takes_the_queue_s_head_turn_not_the_back_of_a_long_line(configure):
    configure(TASK_MAX_QUEUED_PER_USER="0")
    many, one = funded_user(10_000), funded_user(100)
    bulk = [_submit(many.id) for _ in range(50)]
    assert _turns(bulk) == list(range(50))
    _claim(3)  # turns 0, 1, 2 run
    single = _submit(one.id)
    assert _turns([single]) == [3]  # the head's turn: behind one task of the other person
    picked = [t.id for t in _claim(2)]
    assert picked == [bulk[3], single]
    # People with one task each keep first come, first served.
    a, b = funded_user(100), funded_user(100)
    first, second = _submit(a.id), _submit(b.id)
    assert _turns([first]) == _turns([second])
    assert first < second


def test_the_next_turn_follows_the_user_s_own_running_tasks_when_nothing_waits():
    user, other = funded_user(1000), funded_user(1000)
    assert _turns([_submit(user.id) for _ in range(3)]) == [0, 1, 2]
    _claim(3)  # all running, none waiting
    later = _submit(user.id)
    newcomer = _submit(other.id)
    assert _turns([later, newcomer]) == [3, 3]  # behind one task of the other person
    assert [t.id for t in _claim(2)] == [later, newcomer]


def test_the_task_at_the_head_is_never_passed_by_newcomers():
    """One slot; light users keep arriving while a heavy user's second task waits."""
    heavy = funded_user(1000)
    _submit(heavy.id)
    second = _submit(heavy.id)
    _claim(1)  # the first runs; the second waits at the head
    for _ in range(3):
        newcomer = funded_user(100)
        _submit(newcomer.id)
    assert [t.id for t in _claim(1, worker="w2")] == [second]


def test_the_running_cap_skips_people_at_it_within_one_claim():
    busy, calm = funded_user(1000), funded_user(1000)
    busy_ids = [_submit(busy.id) for _ in range(5)]
    calm_id = _submit(calm.id)
    first = [t.id for t in _claim(4, running_cap=2)]
    assert first == [busy_ids[0], calm_id, busy_ids[1]]  # turn order; busy stops at two
    assert _claim(4, running_cap=2) == []  # busy is at the cap, calm has nothing else
    assert [t.id for t in _claim(4, running_cap=3, worker="w2")] == [busy_ids[2]]


def test_over_the_waiting_cap_a_submit_is_refused_and_nothing_is_charged(configure):
    configure(TASK_MAX_QUEUED_PER_USER="3")
    user = funded_user(100)
    for _ in range(3):
        _submit(user.id)
    with pytest.raises(QueueFull) as refused:
        _submit(user.id)
    assert refused.value.limit == 3
    assert balance_of(user.id) == 100 - 3 * COST
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(Task)).one() == 3
    _claim(1, worker="w1")  # one starts: room for one more
    _submit(user.id)
    assert db.call_read(ledger.check_invariants) == []


def test_racing_submits_never_pass_the_waiting_cap_and_charge_only_what_was_queued(configure):
    configure(TASK_MAX_QUEUED_PER_USER="3")
    user = funded_user(1000)
    gate = threading.Barrier(8)

    def attempt(_: int) -> str:
        gate.wait()
        try:
            _submit(user.id)
        except QueueFull:
            return "refused"
        return "queued"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("queued") == 3
    assert balance_of(user.id) == 1000 - 3 * COST
    assert db.call_read(ledger.check_invariants) == []


def test_one_person_s_fifty_tasks_do_not_hold_back_another_s_one(configure):
    """Two processors' worth of slots; the single task is done among the first few."""
    configure(TASK_MAX_QUEUED_PER_USER="0")
    finished: list[int] = []
    lock = threading.Lock()

    class Quick:
        name = "local"

        def generate(self, params, *, on_progress, is_cancelled):  # noqa: ARG002
            time.sleep(0.02)
            return []

    many, one = funded_user(10_000), funded_user(100)
    bulk = [_submit(many.id) for _ in range(50)]
    processor = Processor(concurrency=2, provider_factory=Quick)

    async def scenario() -> None:
        await processor.poll_once()  # two of the fifty start
        single = _submit(one.id)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            await processor.poll_once()
            with db.read() as session:
                done = session.exec(
                    select(Task.id)
                    .where(Task.status == "completed")
                    .order_by(Task.finished_at, Task.id)  # type: ignore[arg-type]
                ).all()
            with lock:
                finished[:] = list(done)
            if single in finished or len(finished) >= len(bulk):
                break
            await asyncio.sleep(0.02)
        await processor.shutdown(grace_seconds=5)
        assert single in finished
        # Behind at most the two running and one turn of the other person (plus a batch).
        assert finished.index(single) < 6, finished[:10]

    aio.run(scenario())


def test_processors_claiming_at_once_never_pass_the_running_cap():
    """A second claim while the first is uncommitted waits for it, then counts its tasks."""
    user = funded_user(1000)
    for _ in range(6):
        _submit(user.id)
    with ThreadPoolExecutor(max_workers=1) as pool:
        with db.transaction() as first:
            mine = queue.claim(first, worker_id="w1", limit=2, lease_seconds=30, running_cap=2)
            assert len(mine) == 2
            second = pool.submit(_claim, 2, 2, "w2")
            time.sleep(0.5)
            assert not second.done()  # waiting for the first claim to commit
        assert second.result(timeout=30) == []  # the user already runs two
    with db.read() as session:
        running = session.exec(
            select(func.count()).select_from(Task).where(Task.status == "processing")
        ).one()
    assert running == 2
