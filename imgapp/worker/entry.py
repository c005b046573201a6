"""Where the task processor runs: the app's lifespan task, its scheduler, its own process.

Inside the app (TASK_PROCESSOR_IN_APP) a Reflex lifespan task starts one
processor; on its own:

    python -m imgapp.worker [--concurrency N] [--worker-id ID]

Either way an APScheduler job calls `Processor.poll_once` every
TASK_POLL_SECONDS. A standalone worker announces through the event bus
(`core.events`: PostgreSQL NOTIFY or Redis), so the app processes' pages see
its progress at once. On SIGTERM/SIGINT the standalone process stops claiming,
gives back the tasks it holds, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from imgapp.core import events, logs
from imgapp.core.settings import assert_startable, get_settings
from imgapp.services import heartbeats
from imgapp.worker import webhooks as webhook_sender
from imgapp.worker.processor import Processor

log = logging.getLogger(__name__)

_in_app: Processor | None = None
_in_app_scheduled = False


def in_app_processor() -> Processor:
    """This process's processor (made on first use if the scheduler is not running)."""
    global _in_app  # noqa: PLW0603 - one processor per process
    if _in_app is None:
        _in_app = Processor()
    return _in_app


def scheduled_in_app() -> Processor | None:
    """The in-app processor when its scheduler runs in this process (readiness expects its beat)."""
    return _in_app if _in_app_scheduled else None


@contextlib.asynccontextmanager
async def in_app(app: object) -> AsyncIterator[None]:  # noqa: ARG001 - Reflex passes its app
    """The Reflex lifespan task: poll the queue while the app serves (TASK_PROCESSOR_IN_APP)."""
    if not get_settings().task_processor_in_app:
        yield
        return
    global _in_app_scheduled  # noqa: PLW0603 - one processor per process
    processor = in_app_processor()
    scheduler = start(processor)
    _in_app_scheduled = True
    try:
        yield
    finally:
        _in_app_scheduled = False
        scheduler.shutdown(wait=False)
        await processor.shutdown()
        await _sender.close()


class _SkipOverlappingPolls(logging.Filter):
    """A poll still running at the next tick makes APScheduler skip that tick: meant, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


_scheduler_log = logging.getLogger("imgapp.worker.scheduler")
_scheduler_log.addFilter(_SkipOverlappingPolls())


WEBHOOK_ROUND_SECONDS = 1.0
_sender = webhook_sender.Sender()


def start(processor: Processor) -> AsyncIOScheduler:
    """Run `processor.poll_once` every TASK_POLL_SECONDS on the current event loop.

    The same scheduler sends the due task webhooks every second (worker/webhooks).
    """
    scheduler = AsyncIOScheduler(logger=_scheduler_log)
    scheduler.add_job(
        _sender.safe_round,
        "interval",
        seconds=WEBHOOK_ROUND_SECONDS,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        id="send-webhooks",
    )
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
        "processor %s polling every %ss, announcing through the %s event bus",
        processor.worker_id,
        get_settings().task_poll_seconds,
        events.transport(),
    )
    await stop.wait()
    scheduler.shutdown(wait=False)
    await processor.shutdown()
    await _sender.close()
    await asyncio.to_thread(events.close)  # what it announced last still reaches the pages
    log.info("processor %s stopped", processor.worker_id)


def main(argv: list[str] | None = None) -> int:
    """`python -m imgapp.worker`: the same processor as its own process."""
    parser = argparse.ArgumentParser(prog="python -m imgapp.worker", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=None, help="default TASK_CONCURRENCY")
    parser.add_argument("--worker-id", default=None, help="default host:pid:random")
    args = parser.parse_args(argv)
    settings = get_settings()
    assert_startable(settings)
    logs.configure(settings, standalone=True)
    processor = Processor(
        worker_id=args.worker_id, concurrency=args.concurrency, kind=heartbeats.STANDALONE
    )
    asyncio.run(run_standalone(processor))
    return 0
