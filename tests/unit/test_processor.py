"""The processor end to end on this run's database: runs, cancels, failures, many processors."""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from typing import ClassVar

import pytest
from sqlmodel import func, select

from imgapp.core import db
from imgapp.gateways import image_files as images
from imgapp.gateways.providers import (
    Cancelled,
    GeneratedImage,
    LocalProvider,
    ProviderRejected,
)
from imgapp.models import LedgerEntry, Task, TaskImage
from imgapp.services import generation, ledger, queue, task_views
from imgapp.worker.processor import Processor
from tests.support import aio
from tests.support.factories import funded_user

pytestmark = pytest.mark.usefixtures("engine")

PARAMS = generation.Params(prompt="lighthouse at dusk", size="512x512", n=2, model="gpt-image-1")


def _submit(user_id: int, params=PARAMS) -> int:
    return db.call(queue.submit, user_id=user_id, params=params, provider="local").task.id


def _task(task_id: int) -> Task:
    with db.read() as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task


async def _drain(*processors: Processor, until: float = 60.0) -> None:
    """Poll every processor until the queue is empty and nothing runs."""
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        claimed = sum([await p.poll_once() for p in processors])
        with db.read() as session:
            active = session.exec(
                select(func.count())
                .select_from(Task)
                .where(Task.status.in_(["pending", "processing"]))  # type: ignore[attr-defined]
            ).one()
        if not active and not claimed and not any(p.busy for p in processors):
            return
        await asyncio.sleep(0.02)
    pytest.fail("the queue did not drain")


def test_a_task_runs_to_completion_with_its_images_stored():
    user = funded_user(100)
    task_id = _submit(user.id)
    aio.run(_drain(Processor(provider_factory=lambda: LocalProvider(0))))
    task = _task(task_id)
    assert (task.status, task.progress, task.provider, task.attempts) == (
        "completed",
        100,
        "local",
        1,
    )
    found = db.call_read(task_views.images_of, [task_id])[task_id]
    assert [(i.width, i.height, i.mime_type) for i in found] == [(512, 512, "image/png")] * 2
    for image in found:
        assert images.locate(image.path).read_bytes().startswith(b"\x89PNG")
    assert db.call_read(ledger.balance, user_id=user.id) == 92


class _Failing:
    name = "failing"

    def generate(self, params, *, on_progress, is_cancelled):  # noqa: ARG002
        raise ProviderRejected("content policy", message_key="task.msg.content_policy")


def test_a_provider_failure_fails_the_task_and_refunds_once():
    user = funded_user(100)
    task_id = _submit(user.id)
    aio.run(_drain(Processor(provider_factory=_Failing)))
    task = _task(task_id)
    assert task.status == "failed"
    assert task.message == "task.msg.content_policy"
    assert "content policy" in task.error
    assert task.refunded == 8
    assert db.call_read(ledger.balance, user_id=user.id) == 100


class _Slow:
    """Reports progress until told to stop; never finishes on its own."""

    name = "slow"
    started = threading.Event()

    def generate(self, params, *, on_progress, is_cancelled):  # noqa: ARG002
        for step in range(1000):
            if is_cancelled():
                raise Cancelled
            on_progress(
                step % 99, "task.msg.rendering", {"image": 1, "of": 1, "step": 1, "steps": 1}
            )
            self.started.set()
            time.sleep(0.01)
        return []


def test_cancel_while_processing_stops_the_provider_and_refunds_once(configure):
    configure(TASK_PROGRESS_INTERVAL_SECONDS="0")
    user = funded_user(100)
    task_id = _submit(user.id)
    processor = Processor(provider_factory=_Slow)

    async def scenario() -> None:
        await processor.poll_once()
        await asyncio.to_thread(_Slow.started.wait, 10)
        await asyncio.to_thread(db.call, queue.cancel, task_id=task_id, user_id=user.id)
        for _ in range(200):
            if not processor.busy:
                return
            await asyncio.sleep(0.05)
        pytest.fail("the processor kept running a cancelled task")

    aio.run(scenario())
    task = _task(task_id)
    assert task.status == "cancelled"
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(TaskImage)).one() == 0
        refunds = session.exec(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "refund")
        ).one()
    assert refunds == 1
    assert db.call_read(ledger.balance, user_id=user.id) == 100


def test_shutdown_gives_running_tasks_back_to_the_queue():
    user = funded_user(100)
    task_id = _submit(user.id)
    processor = Processor(provider_factory=_Slow)

    async def scenario() -> None:
        _Slow.started.clear()
        await processor.poll_once()
        await asyncio.to_thread(_Slow.started.wait, 10)
        await processor.shutdown()

    aio.run(scenario())
    task = _task(task_id)
    assert (task.status, task.worker_id, task.attempts) == ("pending", None, 0)


class _Counting:
    """Instant no-op images; counts how often each task was generated."""

    name = "local"
    calls: ClassVar[collections.Counter[str]] = collections.Counter()
    lock = threading.Lock()

    def generate(self, params, *, on_progress, is_cancelled):  # noqa: ARG002
        with self.lock:
            self.calls[params.prompt] += 1
        return [GeneratedImage(b"\x89PNG fake", "image/png", 1, 1)] * params.n


def test_two_processors_run_each_of_200_tasks_exactly_once():
    user = funded_user(100_000)
    ids = [
        _submit(user.id, generation.Params(prompt=f"task {i}", size="512x512", n=1))
        for i in range(200)
    ]
    first = Processor(worker_id="p1", concurrency=4, provider_factory=_Counting)
    second = Processor(worker_id="p2", concurrency=4, provider_factory=_Counting)
    aio.run(_drain(first, second, until=120))
    assert sorted(_Counting.calls.values()) == [1] * 200
    with db.read() as session:
        done = session.exec(select(Task).where(Task.id.in_(ids))).all()  # type: ignore[attr-defined]
    assert {t.status for t in done} == {"completed"}
    assert {t.attempts for t in done} == {1}
    assert {t.worker_id for t in done} <= {"p1", "p2"}
    assert db.call_read(ledger.balance, user_id=user.id) == 100_000 - 200 * 4
    assert db.call_read(ledger.check_invariants) == []


def test_long_provider_runs_leave_the_event_loops_threads_to_short_work():
    """Every slot generating for long: a claim's announcement, a heartbeat, a page's read still run.

    Providers in the loop's default executor (a few threads) held every one of
    its threads: short database calls queued behind whole generations.
    """
    release = threading.Event()

    class Blocking:
        name = "local"

        def generate(self, _params, *, on_progress, is_cancelled):  # noqa: ARG002
            release.wait(30)
            return []

    user = funded_user(1000)
    for _ in range(12):
        _submit(user.id)

    async def scenario() -> float:
        processor = Processor(concurrency=12, provider_factory=Blocking)
        processor.running_cap = 0  # one person fills every slot here
        try:
            await processor.poll_once()
            await asyncio.sleep(0.3)
            assert processor.busy == 12
            started = time.monotonic()
            short = [asyncio.to_thread(time.sleep, 0.01) for _ in range(20)]
            await asyncio.wait_for(asyncio.gather(*short), timeout=10)
            return time.monotonic() - started
        finally:
            release.set()
            await _drain(processor)

    assert aio.run(scenario()) < 2


def test_a_task_claimed_as_the_processor_stops_goes_back_to_the_queue():
    """A claim in flight when shutdown began: the task is released, not run, failed or refunded."""
    user = funded_user(100)
    task_id = _submit(user.id)

    async def scenario() -> None:
        processor = Processor(provider_factory=lambda: LocalProvider(0))
        claimed = db.call(queue.claim, worker_id=processor.worker_id, limit=1, lease_seconds=30)
        await processor.shutdown()
        processor._start(claimed)  # as a claim that was already under way would
        await asyncio.gather(*processor._runs.values())

    aio.run(scenario())
    task = _task(task_id)
    assert (task.status, task.worker_id, task.refunded) == ("pending", None, 0)
    assert db.call_read(ledger.balance, user_id=user.id) == 100 - generation.cost(PARAMS)


def test_progress_lost_to_a_database_outage_does_not_fail_the_task(monkeypatch):
    """The database drops a progress write: the run goes on and the task completes, charged once."""
    from sqlalchemy.exc import OperationalError  # noqa: PLC0415 - this test's own error

    from imgapp.flows import tasks as task_flow  # noqa: PLC0415

    real = task_flow.progress
    dropped: list[int] = []

    def flaky(**kwargs: object) -> bool:
        if not dropped:
            dropped.append(1)
            raise OperationalError("UPDATE ...", {}, Exception("server closed the connection"))
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(task_flow, "progress", flaky)
    user = funded_user(100)
    task_id = _submit(user.id)
    aio.run(_drain(Processor(provider_factory=lambda: LocalProvider(0))))
    assert dropped == [1]
    task = _task(task_id)
    assert (task.status, task.attempts, task.refunded) == ("completed", 1, 0)
    assert db.call_read(ledger.balance, user_id=user.id) == 92
