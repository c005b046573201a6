"""Readiness: can this process do its work now, and if not, what is wrong.

`/api/health/ready` runs `assess`. Each check answers ok, failing (with what
is wrong) or not checked (what it needs failed first):

- `database`: `SELECT 1` within READY_TIMEOUT_SECONDS;
- `redis`: PING within the same time, when REDIS_URL is set;
- `event_bus`: `core.events.health()`;
- `processors`: the in-app processor of this process (when it runs) and at
  least READY_MIN_WORKERS standalone ones beat within
  READY_MAX_HEARTBEAT_AGE_SECONDS;
- `queue`: the oldest pending task waits at most READY_MAX_QUEUE_AGE_SECONDS
  (and at most READY_MAX_QUEUE_DEPTH wait, when set).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from imgapp.core import db, events
from imgapp.core.settings import Settings, get_settings
from imgapp.gateways import redis_health
from imgapp.models.base import utcnow
from imgapp.services import heartbeats, task_views

DATABASE, REDIS, EVENT_BUS, PROCESSORS, QUEUE = (
    "database",
    "redis",
    "event_bus",
    "processors",
    "queue",
)


@dataclass(frozen=True)
class Check:
    """One check's verdict: `ok` True, False (failing) or None (not checked)."""

    ok: bool | None
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The check as `/api/health/ready` shows it."""
        status = {True: "ok", False: "failing", None: "not_checked"}[self.ok]
        return {"status": status, "detail": self.detail, **self.data}


@dataclass(frozen=True)
class Readiness:
    """Every check, by name."""

    checks: dict[str, Check]

    @property
    def failing(self) -> list[str]:
        """The names of the failing checks (not those left unchecked because of them)."""
        return [name for name, check in self.checks.items() if check.ok is False]

    @property
    def ready(self) -> bool:
        """Whether every check passed."""
        return all(check.ok for check in self.checks.values())


def processors(
    session: Session, *, settings: Settings, in_app_worker_id: str | None, now: datetime
) -> Check:
    """The processors this deployment expects have beaten recently."""
    max_age = settings.ready_max_heartbeat_age_seconds
    since = now - timedelta(seconds=max_age)
    problems: list[str] = []
    data: dict[str, Any] = {}
    if settings.task_processor_in_app:
        if in_app_worker_id is None:
            problems.append("the in-app processor is not running (TASK_PROCESSOR_IN_APP=true)")
        else:
            seen = heartbeats.last_seen(session, worker_id=in_app_worker_id)
            age = None if seen is None else round((now - seen).total_seconds(), 1)
            data["in_app_heartbeat_age_seconds"] = age
            if age is None or age > max_age:
                problems.append(
                    f"the in-app processor has not polled for more than {max_age} s"
                    if age is not None
                    else "the in-app processor has never polled"
                )
    standalone = len(heartbeats.alive(session, since=since, kind=heartbeats.STANDALONE))
    data["standalone_alive"] = standalone
    if standalone < settings.ready_min_workers:
        problems.append(
            f"{standalone} standalone processor(s) polled within {max_age} s, "
            f"READY_MIN_WORKERS expects {settings.ready_min_workers}"
        )
    if problems:
        return Check(ok=False, detail="; ".join(problems), data=data)
    return Check(ok=True, detail="expected processors are polling", data=data)


def queue(session: Session, *, settings: Settings, now: datetime) -> Check:
    """The queue moves: nothing waits too long (and not too much waits, when limited)."""
    summary = task_views.pending_summary(session)
    age = round(summary.oldest_age_seconds(now), 1)
    data = {"depth": summary.depth, "oldest_pending_age_seconds": age}
    problems = []
    if age > settings.ready_max_queue_age_seconds:
        problems.append(
            f"the oldest pending task has waited {age:.0f} s "
            f"(READY_MAX_QUEUE_AGE_SECONDS={settings.ready_max_queue_age_seconds})"
        )
    limit = settings.ready_max_queue_depth
    if limit and summary.depth > limit:
        problems.append(f"{summary.depth} tasks pending (READY_MAX_QUEUE_DEPTH={limit})")
    if problems:
        return Check(ok=False, detail="; ".join(problems), data=data)
    return Check(ok=True, detail=f"{summary.depth} pending", data=data)


def _database_checks(settings: Settings, in_app_worker_id: str | None) -> dict[str, Check]:
    """`SELECT 1`, then the processors and the queue in the same read."""
    started = time.monotonic()
    try:
        with db.read() as session:
            session.execute(text("SELECT 1"))
            answered = Check(
                ok=True,
                detail="answers",
                data={"seconds": round(time.monotonic() - started, 4)},
            )
            now = utcnow()
            return {
                DATABASE: answered,
                PROCESSORS: processors(
                    session, settings=settings, in_app_worker_id=in_app_worker_id, now=now
                ),
                QUEUE: queue(session, settings=settings, now=now),
            }
    except SQLAlchemyError as exc:
        # The driver's message may name the host and user; the kind of failure is enough here.
        return _database_down(f"unreachable ({type(exc).__name__})")


def _database_down(detail: str) -> dict[str, Check]:
    unchecked = Check(ok=None, detail="not checked: the database is unreachable")
    return {DATABASE: Check(ok=False, detail=detail), PROCESSORS: unchecked, QUEUE: unchecked}


def _redis(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check(ok=True, detail="not configured (one process)")
    try:
        redis_health.ping(settings.redis_url, timeout=settings.ready_timeout_seconds)
    except redis_health.RedisUnreachable as exc:
        return Check(ok=False, detail=str(exc))
    return Check(ok=True, detail="answers PING")


async def assess(*, in_app_worker_id: str | None) -> Readiness:
    """Run every check (the slow ones side by side, each within READY_TIMEOUT_SECONDS)."""
    settings = get_settings()
    timeout = settings.ready_timeout_seconds
    # A hung database or Redis leaves its thread waiting; the answer does not wait for it.
    database = asyncio.create_task(
        asyncio.wait_for(asyncio.to_thread(_database_checks, settings, in_app_worker_id), timeout)
    )
    redis = asyncio.create_task(asyncio.wait_for(asyncio.to_thread(_redis, settings), timeout))
    try:
        found = await database
    except TimeoutError:
        found = _database_down(f"no answer within {timeout} s")
    try:
        found[REDIS] = await redis
    except TimeoutError:
        found[REDIS] = Check(ok=False, detail=f"no answer within {timeout} s")
    bus = events.health()
    found[EVENT_BUS] = Check(ok=bus.ok, detail=bus.detail)
    order = (DATABASE, REDIS, EVENT_BUS, PROCESSORS, QUEUE)
    return Readiness({name: found[name] for name in order})
