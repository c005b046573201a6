"""Where each waiting task stands and when each active task should be done.

Position: a waiting task's place in the order processors take tasks in
(fair-share turn, then id); 1 means it starts next. ETA: seconds until it is
done, from measured durations only: the median wall time (claimed ->
finished) of the latest completions with the same provider, model, size and
image count; failing that, of the same provider, model and size, per image,
times the count. With no comparable completion measured, the ETA is unknown
(None), and so is every ETA behind it: nothing here is a made-up constant.

The estimate plays the queue forward: the live processors' slots (their
heartbeats' `slots`) free up as the running tasks' remaining times run out,
and each waiting task, in order, takes the first free slot. A running task's
remaining time is its median minus the time it has run; once past the median,
it is read from its progress instead (from 10 % on; before that, unknown).
Per-person running caps are not played out: a capped person's tasks may
start later than shown.

Reads only.
"""

from __future__ import annotations

import heapq
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from imgapp.models import Task, TaskStatus, WorkerHeartbeat

# The latest completions read, and how many of them a median takes per key.
RECENT_COMPLETIONS = 500
SAMPLES_PER_KEY = 20
# Waiting tasks placed; the ones behind are "further back" (position None).
MAX_PLACED = 2000

Key = tuple[str, str, str, int]  # provider, model, size, image count


@dataclass(frozen=True)
class Durations:
    """Median seconds per task like this, and per image of the same provider, model and size."""

    by_key: dict[Key, float] = field(default_factory=dict)
    per_image: dict[tuple[str, str, str], float] = field(default_factory=dict)

    def estimate(self, key: Key) -> float | None:
        """Seconds a task like this takes, or None when nothing comparable was measured."""
        if key in self.by_key:
            return self.by_key[key]
        each = self.per_image.get(key[:3])
        return None if each is None else each * key[3]


@dataclass(frozen=True)
class Standing:
    """A task's place and outlook: `position` None once it runs (or far back)."""

    task_id: int
    user_id: int
    status: str
    position: int | None
    eta_seconds: int | None


def _seconds(started: datetime | None, finished: datetime | None) -> float | None:
    if started is None or finished is None:
        return None
    return max(0.0, (finished - started).total_seconds())


def measured(session: Session) -> Durations:
    """The medians of the latest completions (newest first along the primary key)."""
    rows = session.execute(
        select(
            col(Task.provider),
            col(Task.model),
            col(Task.size),
            col(Task.n),
            col(Task.started_at),
            col(Task.finished_at),
        )
        .where(col(Task.status) == TaskStatus.COMPLETED.value)
        .order_by(col(Task.id).desc())
        .limit(RECENT_COMPLETIONS)
    ).all()
    samples: dict[Key, list[float]] = defaultdict(list)
    per_image: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for provider, model, size, n, started, finished in rows:
        took = _seconds(started, finished)
        if took is None:
            continue
        key = (provider, model, size, int(n))
        if len(samples[key]) < SAMPLES_PER_KEY:
            samples[key].append(took)
        if len(per_image[key[:3]]) < SAMPLES_PER_KEY:
            per_image[key[:3]].append(took / max(1, int(n)))
    return Durations(
        by_key={k: statistics.median(v) for k, v in samples.items()},
        per_image={k: statistics.median(v) for k, v in per_image.items()},
    )


def slots(session: Session, *, now: datetime, max_age_seconds: float) -> int:
    """Tasks the processors that beat within `max_age_seconds` run at once, together."""
    total = session.execute(
        select(func.coalesce(func.sum(col(WorkerHeartbeat.slots)), 0)).where(
            col(WorkerHeartbeat.last_seen_at) >= now - timedelta(seconds=max_age_seconds)
        )
    ).scalar_one()
    return int(total)


# What the estimate reads of each active task (not its prompt or its error).
_ACTIVE_COLUMNS = (
    col(Task.id),
    col(Task.user_id),
    col(Task.status),
    col(Task.provider),
    col(Task.model),
    col(Task.size),
    col(Task.n),
    col(Task.started_at),
    col(Task.progress),
)


# Below this progress a rate read from it swings too much to be shown.
_MIN_PROGRESS_TO_EXTRAPOLATE = 10


def _remaining(task: Any, took: float | None, now: datetime) -> float | None:
    """Seconds a running task still needs: its median minus its time so far, or by progress.

    Past its median, only a progress of 10 % or more is read (its rate so far);
    below that the task is slower than usual and how much is unknown (None).
    """
    ran = _seconds(task.started_at, now) or 0.0
    if took is not None and ran < took:
        return took - ran
    if task.progress >= _MIN_PROGRESS_TO_EXTRAPOLATE:
        return ran * (100 - task.progress) / task.progress
    return None


def outlook(
    session: Session, *, now: datetime, slot_count: int, durations: Durations
) -> dict[int, Standing]:
    """Every active task's standing (the first MAX_PLACED waiting ones placed), by task id."""
    running = session.execute(
        select(*_ACTIVE_COLUMNS).where(col(Task.status) == TaskStatus.PROCESSING.value)
    ).all()
    waiting = session.execute(
        select(*_ACTIVE_COLUMNS)
        .where(col(Task.status) == TaskStatus.PENDING.value)
        .order_by(col(Task.queue_turn), col(Task.id))
        .limit(MAX_PLACED)
    ).all()
    found: dict[int, Standing] = {}
    free_at: list[float] = []  # when each slot frees up, seconds from now
    known = True
    for task in running:
        left = _remaining(task, durations.estimate(_key(task)), now)
        found[int(task.id)] = _standing(task, None, left)
        known = known and left is not None
        free_at.append(left or 0.0)
    free_at.extend([0.0] * max(0, slot_count - len(free_at)))
    heapq.heapify(free_at)
    for place, task in enumerate(waiting, start=1):
        took = durations.estimate(_key(task))
        known = known and took is not None and bool(free_at)
        if not known:
            found[int(task.id)] = _standing(task, place, None)
            continue
        done = heapq.heappop(free_at) + (took or 0.0)
        heapq.heappush(free_at, done)
        found[int(task.id)] = _standing(task, place, done)
    return found


def standings(
    session: Session,
    *,
    now: datetime,
    max_age_seconds: float,
    durations: Durations | None = None,
) -> dict[int, Standing]:
    """`outlook` with the live processors' slots (and the durations, unless given)."""
    return outlook(
        session,
        now=now,
        slot_count=slots(session, now=now, max_age_seconds=max_age_seconds),
        durations=measured(session) if durations is None else durations,
    )


def _key(task: Any) -> Key:
    return (task.provider, task.model, task.size, task.n)


def _standing(task: Any, position: int | None, seconds: float | None) -> Standing:
    return Standing(
        task_id=int(task.id),
        user_id=task.user_id,
        status=task.status,
        position=position,
        eta_seconds=None if seconds is None else max(1, round(seconds)),
    )
