"""The task processor: claims generation tasks, runs each on a provider, and finishes it.

`worker.entry` schedules `Processor.poll_once`, in the app or as its own
process (`python -m imgapp.worker`). Any number may run at once, in any
processes: a task is claimed by exactly one processor (SKIP LOCKED / BEGIN
IMMEDIATE) and held by a lease the processor renews while it works. A
processor that dies stops renewing; its tasks go back to the queue when the
lease expires (and fail with a refund after `TASK_MAX_ATTEMPTS`). On shutdown
it stops claiming and gives back the tasks it holds.

Each poll also records the processor's heartbeat (`worker_heartbeats`, at
most every WORKER_HEARTBEAT_SECONDS), which `/api/health/ready` reads, and
each task's end is timed into `imgapp_task_duration_seconds`.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from imgapp.core import db, events, metrics
from imgapp.core.settings import get_settings
from imgapp.flows import tasks as task_flow
from imgapp.gateways import image_files as images
from imgapp.gateways import providers
from imgapp.gateways.providers import Cancelled, GeneratedImage, Provider, ProviderError
from imgapp.models import Task
from imgapp.models.base import require_id
from imgapp.services import heartbeats, queue, uploads
from imgapp.services.errors import NotFound, is_database_outage
from imgapp.services.generation import Params
from imgapp.services.task_views import encode_message

log = logging.getLogger(__name__)

# How a task's run ended, as `imgapp_task_duration_seconds{outcome}` counts it.
COMPLETED, FAILED, CANCELLED, RELEASED = "completed", "failed", "cancelled", "released"


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
        try:
            still_ours = task_flow.progress(
                task_id=self.task_id,
                worker_id=self.worker_id,
                lease_seconds=self.lease_seconds,
                percent=percent,
                message=encode_message(key, params),
            )
        except SQLAlchemyError as exc:
            if not is_database_outage(exc):
                raise
            # Progress is news, not the result: the run goes on. Its lease runs out
            # only if the outage outlasts it, and then the task is run again.
            log.warning("task %s: progress not recorded, the database is away", self.task_id)
            return
        if not still_ours:  # cancelled, or our lease went to another processor
            self.stop.set()


class Processor:
    """Claims up to `concurrency` tasks at a time and runs each to its end."""

    def __init__(
        self,
        *,
        worker_id: str | None = None,
        concurrency: int | None = None,
        provider_factory: Callable[[], Provider] = providers.configured,
        kind: str = heartbeats.IN_APP,
    ) -> None:
        """Defaults come from settings (TASK_*); `kind`: in the app or standalone."""
        settings = get_settings()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.kind = kind
        self.heartbeat_seconds = settings.worker_heartbeat_seconds
        self._next_beat = 0.0
        self.concurrency = concurrency or settings.task_concurrency
        self.lease_seconds = settings.task_lease_seconds
        self.max_attempts = settings.task_max_attempts
        self.running_cap = settings.task_max_running_per_user
        self.progress_interval = settings.task_progress_interval_seconds
        self.provider_factory = provider_factory
        self._jobs: dict[int, _Job] = {}
        self._runs: dict[int, asyncio.Task[None]] = {}
        self._stopping = False
        self._next_recovery = 0.0
        self._claiming: asyncio.Lock | None = None
        self._queue_had_more = False
        self._refill: asyncio.Task[int] | None = None
        self._completions: list[tuple[queue.Completion, asyncio.Future[bool]]] = []
        self._recorder: asyncio.Task[None] | None = None
        # Providers run for seconds; in the event loop's default executor (a
        # handful of threads) they would hold every thread, and each short
        # database call (announcing a claim, a heartbeat, recording, a page's
        # read) would queue behind a whole generation: seen as pushes seconds
        # late. They get threads of their own, one per task slot.
        self._generating = ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="imgapp-generate"
        )

    @property
    def busy(self) -> int:
        """How many tasks this processor is running."""
        return len(self._runs)

    async def poll_once(self) -> int:
        """One round: requeue expired leases, claim what fits, start it. Returns tasks claimed."""
        if self._stopping:
            return 0
        await self._beat()
        if self._claiming is None:
            self._claiming = asyncio.Lock()
        async with self._claiming:  # the scheduled poll and a refill never claim side by side
            if time.monotonic() >= self._next_recovery:  # a lease lapses at most this late
                self._next_recovery = time.monotonic() + self.lease_seconds / 3
                await asyncio.to_thread(task_flow.recover, max_attempts=self.max_attempts)
            free = self.concurrency - len(self._runs)
            if free <= 0:
                return 0
            claimed = await asyncio.to_thread(
                db.call,
                queue.claim,
                worker_id=self.worker_id,
                limit=free,
                lease_seconds=self.lease_seconds,
                running_cap=self.running_cap,
            )
            self._start(claimed)
            self._queue_had_more = len(claimed) == free
            return len(claimed)

    async def _beat(self) -> None:
        """Record that this processor is alive (at most every WORKER_HEARTBEAT_SECONDS)."""
        if time.monotonic() < self._next_beat:
            return
        self._next_beat = time.monotonic() + self.heartbeat_seconds
        await asyncio.to_thread(
            db.call,
            heartbeats.beat,
            worker_id=self.worker_id,
            kind=self.kind,
            host=socket.gethostname(),
            pid=os.getpid(),
            slots=self.concurrency,
        )

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
                queue.heartbeat,
                task_id=job.task_id,
                worker_id=self.worker_id,
                lease_seconds=self.lease_seconds,
            )
            if still_ours is None:
                job.stop.set()

    async def _run(self, task: Task) -> None:
        job = _Job(task, self.worker_id, self.lease_seconds, self.progress_interval)
        self._jobs[job.task_id] = job
        heartbeat = asyncio.create_task(self._heartbeat(job))
        started, outcome = time.monotonic(), FAILED
        try:
            if events.is_heard():  # the claim's own row: nothing to read again
                await asyncio.to_thread(task_flow.announce_claimed, job.task)
            outcome = await self._generate(job)
        except Exception as exc:
            if is_database_outage(exc):  # nothing can be recorded now: its lease runs out,
                log.warning("task %s: the database went away mid-run", job.task_id)  # run again
            else:
                log.exception("task %s: unexpected error", job.task_id)
                await self._fail(
                    job, "unexpected error (see the processor log)", "task.msg.internal"
                )
        finally:
            metrics.record_task(job.task.provider, outcome, time.monotonic() - started)
            job.stop.set()
            heartbeat.cancel()
            self._jobs.pop(job.task_id, None)
            self._runs.pop(job.task_id, None)
            if self._queue_had_more:
                self._claim_again_soon()

    async def _generate(self, job: _Job) -> str:
        """Run the task on its provider; answers how it ended (COMPLETED, FAILED, ...)."""
        provider = self.provider_factory()
        params = queue.params_of(job.task)
        if job.task.source_upload_id is not None:
            try:
                params = await asyncio.to_thread(_with_edit_files, params, job.task)
            except (NotFound, ValueError, FileNotFoundError) as exc:
                await self._fail(job, f"the upload to edit is gone: {exc}", "task.msg.source_gone")
                return FAILED
        run = functools.partial(
            provider.generate,
            params,
            on_progress=job.on_progress,
            is_cancelled=job.is_cancelled,
        )
        try:
            made = await self._provide(job, run)
        except Cancelled:
            if job.releasing:
                await asyncio.to_thread(
                    db.call, queue.release, task_id=job.task_id, worker_id=self.worker_id
                )
                await _announce(job.task_id)
                return RELEASED
            return (
                CANCELLED  # by its owner (already refunded), or taken over after our lease lapsed
            )
        except ProviderError as exc:
            await self._fail(job, str(exc), exc.message_key)
            return FAILED
        stored = await asyncio.to_thread(self._store, job, made) if made else []
        kept = await self._record(queue.Completion(job.task_id, provider.name, stored))
        if not kept:  # cancelled while the last image was being made: keep nothing
            await asyncio.to_thread(images.delete, stored)
            return CANCELLED
        return COMPLETED

    async def _provide(
        self, job: _Job, run: Callable[[], list[GeneratedImage]]
    ) -> list[GeneratedImage]:
        """The provider's run in the processor's own threads (`Cancelled` to give the task back)."""
        if self._stopping:  # claimed as the processor stops: back to the queue, untouched
            job.releasing = True
            raise Cancelled
        return await asyncio.get_running_loop().run_in_executor(
            self._generating, contextvars.copy_context().run, run
        )

    async def _record(self, completion: queue.Completion) -> bool:
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
                    task_flow.record,
                    worker_id=self.worker_id,
                    completions=[completion for completion, _ in batch],
                    claim_next=claim_next,
                    lease_seconds=self.lease_seconds,
                    running_cap=self.running_cap,
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

    async def _record_alone(self, completion: queue.Completion) -> bool | BaseException:
        try:
            kept, _ = await asyncio.to_thread(
                task_flow.record, worker_id=self.worker_id, completions=[completion]
            )
        except Exception as exc:  # noqa: BLE001 - handed to the task that waits for it
            return exc
        return kept[0]

    def _store(self, job: _Job, made: list[providers.GeneratedImage]) -> list[queue.StoredImage]:
        return [
            images.save(user_id=job.task.user_id, task_id=job.task_id, position=i, image=image)
            for i, image in enumerate(made)
        ]

    async def _fail(self, job: _Job, error: str, message_key: str) -> None:
        await asyncio.to_thread(
            task_flow.fail,
            task_id=job.task_id,
            worker_id=self.worker_id,
            error=error,
            message_key=message_key,
        )

    async def shutdown(self, grace_seconds: float = 30.0) -> None:
        """Stop claiming, give back every task still running, wait for them to let go."""
        self._stopping = True
        for job in self._jobs.values():
            job.releasing = True
            job.stop.set()
        if self._runs:
            await asyncio.wait(list(self._runs.values()), timeout=grace_seconds)
        try:  # a clean stop: readiness no longer expects this processor
            await asyncio.to_thread(db.call, heartbeats.forget, worker_id=self.worker_id)
        except SQLAlchemyError:
            log.warning("processor %s: could not remove its heartbeat", self.worker_id)
        self._generating.shutdown(wait=False)


def _with_edit_files(params: Params, task: Task) -> Params:
    """An edit's parameters with the absolute paths of its picture and mask files."""
    image, mask = db.call_read(uploads.files_of, task)
    source = images.locate(image)
    if not source.is_file():
        raise FileNotFoundError(image)
    return dataclasses.replace(
        params, source_path=str(source), mask_path=str(images.locate(mask)) if mask else ""
    )


async def _announce(task_id: int) -> None:
    """Publish the task to whoever can hear it: pages here, or app processes over the bus.

    Only a standalone worker on the memory bus (nobody hears it) skips the read.
    """
    if events.is_heard():
        await asyncio.to_thread(task_flow.announce, task_id)


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("claiming failed", exc_info=task.exception())
