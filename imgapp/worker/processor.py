"""The task processor: an APScheduler loop that claims, runs and finishes generation tasks.

Runs inside the app (a Reflex lifespan task starts it) and as its own process:

    python -m imgapp.worker [--concurrency N] [--worker-id ID]

Any number may run at once, in any processes: a task is claimed by exactly one
processor (SKIP LOCKED / BEGIN IMMEDIATE) and held by a lease the processor
renews while it works. A processor that dies stops renewing; its tasks go back
to the queue when the lease expires (and fail with a refund after
`TASK_MAX_ATTEMPTS`). On SIGTERM/SIGINT the processor stops claiming, gives
back the tasks it holds, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from imgapp.core import db, events
from imgapp.core.settings import assert_startable, get_settings
from imgapp.flows.generation import publish_task
from imgapp.gateways import image_files as images
from imgapp.gateways import providers
from imgapp.gateways.providers import Cancelled, Provider, ProviderError
from imgapp.models import Task
from imgapp.models.base import require_id
from imgapp.services import ledger, tasks

log = logging.getLogger(__name__)


@dataclass
class _Job:
    """One task being run: its cancellation flag and progress throttle."""

    task: Task
    worker_id: str
    lease_seconds: int
    progress_interval: float
    stop: threading.Event = field(default_factory=threading.Event)
    releasing: bool = False
    last_write: float = 0.0

    @property
    def task_id(self) -> int:
        return require_id(self.task.id)

    def is_cancelled(self) -> bool:
        """Polled by the provider between steps."""
        return self.stop.is_set()

    def on_progress(self, percent: int, key: str, params: dict[str, object]) -> None:
        """Record progress (throttled: a fast provider cannot flood the database or sockets)."""
        now = time.monotonic()
        if now - self.last_write < self.progress_interval and percent < 100:  # noqa: PLR2004
            return
        self.last_write = now
        still_ours = db.call(
            tasks.heartbeat,
            task_id=self.task_id,
            worker_id=self.worker_id,
            lease_seconds=self.lease_seconds,
            progress=percent,
            message=tasks.encode_message(key, params),
        )
        if not still_ours:  # cancelled, or our lease went to another processor
            self.stop.set()
            return
        publish_task(self.task_id)


class Processor:
    """Claims up to `concurrency` tasks at a time and runs each to its end."""

    def __init__(
        self,
        *,
        worker_id: str | None = None,
        concurrency: int | None = None,
        provider_factory: Callable[[], Provider] = providers.configured,
    ) -> None:
        """Defaults come from settings (TASK_*)."""
        settings = get_settings()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency or settings.task_concurrency
        self.lease_seconds = settings.task_lease_seconds
        self.max_attempts = settings.task_max_attempts
        self.progress_interval = settings.task_progress_interval_seconds
        self.provider_factory = provider_factory
        self._jobs: dict[int, _Job] = {}
        self._runs: dict[int, asyncio.Task[None]] = {}
        self._stopping = False
        self._next_recovery = 0.0
        self._claiming: asyncio.Lock | None = None
        self._queue_had_more = False
        self._refill: asyncio.Task[int] | None = None
        self._completions: list[tuple[tasks.Completion, asyncio.Future[bool]]] = []
        self._recorder: asyncio.Task[None] | None = None

    @property
    def busy(self) -> int:
        """How many tasks this processor is running."""
        return len(self._runs)

    async def poll_once(self) -> int:
        """One round: requeue expired leases, claim what fits, start it. Returns tasks claimed."""
        if self._stopping:
            return 0
        if self._claiming is None:
            self._claiming = asyncio.Lock()
        async with self._claiming:  # the scheduled poll and a refill never claim side by side
            if time.monotonic() >= self._next_recovery:  # a lease lapses at most this late
                self._next_recovery = time.monotonic() + self.lease_seconds / 3
                recovery = await asyncio.to_thread(
                    db.call, tasks.recover_expired, max_attempts=self.max_attempts
                )
                for task_id in recovery.requeued + recovery.failed:
                    await _announce(task_id)
            free = self.concurrency - len(self._runs)
            if free <= 0:
                return 0
            claimed = await asyncio.to_thread(
                db.call,
                tasks.claim,
                worker_id=self.worker_id,
                limit=free,
                lease_seconds=self.lease_seconds,
            )
            self._start(claimed)
            self._queue_had_more = len(claimed) == free
            return len(claimed)

    def _start(self, claimed: list[Task]) -> None:
        for task in claimed:
            task_id = require_id(task.id)
            self._runs[task_id] = asyncio.create_task(self._run(task), name=f"task-{task_id}")

    def _claim_again_soon(self) -> None:
        """A slot came free: claim at once rather than at the next poll, while work may wait.

        Only after a claim that filled every slot (so the queue likely has more);
        an idle queue is left to the scheduled poll.
        """
        if self._stopping or (self._refill is not None and not self._refill.done()):
            return
        self._refill = asyncio.create_task(self.poll_once())
        self._refill.add_done_callback(_log_failure)

    async def _heartbeat(self, job: _Job) -> None:
        while not job.stop.is_set():
            await asyncio.sleep(self.lease_seconds / 3)
            still_ours = await asyncio.to_thread(
                db.call,
                tasks.heartbeat,
                task_id=job.task_id,
                worker_id=self.worker_id,
                lease_seconds=self.lease_seconds,
            )
            if not still_ours:
                job.stop.set()

    async def _run(self, task: Task) -> None:
        job = _Job(task, self.worker_id, self.lease_seconds, self.progress_interval)
        self._jobs[job.task_id] = job
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            await _announce(job.task_id)
            await self._generate(job)
        except Exception:
            log.exception("task %s: unexpected error", job.task_id)
            await self._fail(job, "unexpected error (see the processor log)", "task.msg.internal")
        finally:
            job.stop.set()
            heartbeat.cancel()
            self._jobs.pop(job.task_id, None)
            self._runs.pop(job.task_id, None)
            if self._queue_had_more:
                self._claim_again_soon()

    async def _generate(self, job: _Job) -> None:
        provider = self.provider_factory()
        try:
            made = await asyncio.to_thread(
                provider.generate,
                tasks.params_of(job.task),
                on_progress=job.on_progress,
                is_cancelled=job.is_cancelled,
            )
        except Cancelled:
            if job.releasing:
                await asyncio.to_thread(
                    db.call, tasks.release, task_id=job.task_id, worker_id=self.worker_id
                )
                await _announce(job.task_id)
            return  # cancelled by its owner (already refunded) or taken over after our lease lapsed
        except ProviderError as exc:
            await self._fail(job, str(exc), exc.message_key)
            return
        stored = await asyncio.to_thread(self._store, job, made) if made else []
        kept = await self._record(tasks.Completion(job.task_id, provider.name, stored))
        if not kept:  # cancelled while the last image was being made: keep nothing
            await asyncio.to_thread(images.delete, stored)
        await _announce(job.task_id)

    async def _record(self, completion: tasks.Completion) -> bool:
        """Record a completion; those that finish together share one transaction.

        The first waits for no one: whatever finishes while its commit is on
        the way goes into the next one (group commit, as PostgreSQL does). While
        the queue has more, the same transaction claims as many tasks as it
        finishes, so a busy processor commits once per batch, not twice.
        """
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._completions.append((completion, done))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_pending())
        return await done

    async def _record_pending(self) -> None:
        while self._completions:
            # Completions a moment away join this commit: wait while they keep
            # arriving (half a millisecond at a time, at most two milliseconds).
            for _ in range(4):
                if len(self._completions) >= len(self._runs):
                    break
                arrived = len(self._completions)
                await asyncio.sleep(0.0005)
                if len(self._completions) == arrived:
                    break
            batch, self._completions = self._completions, []
            claim_next = len(batch) if self._queue_had_more and not self._stopping else 0
            try:
                kept, claimed = await asyncio.to_thread(
                    db.call,
                    tasks.complete_many,
                    worker_id=self.worker_id,
                    completions=[completion for completion, _ in batch],
                    claim_next=claim_next,
                    lease_seconds=self.lease_seconds,
                )
            except Exception:  # noqa: BLE001 - one bad row must not sink the others: one by one
                kept, claimed = [await self._record_alone(c) for c, _ in batch], []
            if claim_next:
                self._queue_had_more = len(claimed) == claim_next
                self._start(claimed)
            for (_, done), outcome in zip(batch, kept, strict=True):
                if isinstance(outcome, BaseException):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)

    async def _record_alone(self, completion: tasks.Completion) -> bool | BaseException:
        try:
            kept, _ = await asyncio.to_thread(
                db.call, tasks.complete_many, worker_id=self.worker_id, completions=[completion]
            )
        except Exception as exc:  # noqa: BLE001 - handed to the task that waits for it
            return exc
        return kept[0]

    def _store(self, job: _Job, made: list[providers.GeneratedImage]) -> list[tasks.StoredImage]:
        return [
            images.save(user_id=job.task.user_id, task_id=job.task_id, position=i, image=image)
            for i, image in enumerate(made)
        ]

    async def _fail(self, job: _Job, error: str, message_key: str) -> None:
        refunded = await asyncio.to_thread(
            db.call,
            tasks.fail,
            task_id=job.task_id,
            worker_id=self.worker_id,
            error=error,
            message=tasks.encode_message(message_key),
        )
        if refunded is not None and events.has_subscribers():
            balance = await asyncio.to_thread(
                db.call_read, ledger.balance, user_id=job.task.user_id
            )
            await _announce(job.task_id, balance=balance)

    async def shutdown(self, grace_seconds: float = 30.0) -> None:
        """Stop claiming, give back every task still running, wait for them to let go."""
        self._stopping = True
        for job in self._jobs.values():
            job.releasing = True
            job.stop.set()
        if self._runs:
            await asyncio.wait(list(self._runs.values()), timeout=grace_seconds)


async def _announce(task_id: int, *, balance: int | None = None) -> None:
    """Publish the task to this process's open pages (nothing to do in a standalone worker)."""
    if events.has_subscribers():
        await asyncio.to_thread(publish_task, task_id, balance=balance)


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("claiming failed", exc_info=task.exception())


_in_app: Processor | None = None


def in_app_processor() -> Processor:
    """This process's processor (made on first use if the scheduler is not running)."""
    global _in_app  # noqa: PLW0603 - one processor per process
    if _in_app is None:
        _in_app = Processor()
    return _in_app


@contextlib.asynccontextmanager
async def in_app(app: object) -> AsyncIterator[None]:  # noqa: ARG001 - Reflex passes its app
    """The Reflex lifespan task: poll the queue while the app serves (TASK_PROCESSOR_IN_APP)."""
    if not get_settings().task_processor_in_app:
        yield
        return
    processor = in_app_processor()
    scheduler = start(processor)
    try:
        yield
    finally:
        scheduler.shutdown(wait=False)
        await processor.shutdown()


class _SkipOverlappingPolls(logging.Filter):
    """A poll still running at the next tick makes APScheduler skip that tick: meant, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


_scheduler_log = logging.getLogger("imgapp.worker.scheduler")
_scheduler_log.addFilter(_SkipOverlappingPolls())


def start(processor: Processor) -> AsyncIOScheduler:
    """Run `processor.poll_once` every TASK_POLL_SECONDS on the current event loop."""
    scheduler = AsyncIOScheduler(logger=_scheduler_log)
    scheduler.add_job(
        processor.poll_once,
        "interval",
        seconds=get_settings().task_poll_seconds,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=datetime.now(UTC),
        id="poll-task-queue",
    )
    scheduler.start()
    return scheduler


async def run_standalone(processor: Processor) -> None:
    """Serve until SIGTERM/SIGINT, then hand back running tasks and exit."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    scheduler = start(processor)
    log.info(
        "processor %s polling every %ss", processor.worker_id, get_settings().task_poll_seconds
    )
    await stop.wait()
    scheduler.shutdown(wait=False)
    await processor.shutdown()
    log.info("processor %s stopped", processor.worker_id)


def main(argv: list[str] | None = None) -> int:
    """`python -m imgapp.worker`: the same processor as its own process."""
    parser = argparse.ArgumentParser(prog="python -m imgapp.worker", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=None, help="default TASK_CONCURRENCY")
    parser.add_argument("--worker-id", default=None, help="default host:pid:random")
    args = parser.parse_args(argv)
    settings = get_settings()
    assert_startable(settings)
    logging.basicConfig(
        level=settings.imgapp_log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run_standalone(Processor(worker_id=args.worker_id, concurrency=args.concurrency)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
