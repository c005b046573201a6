"""Fair share between users: each task's turn in the queue, and the per-user caps.

Processors take pending tasks in (`queue_turn`, id) order. A new task's turn is
one after its owner's last waiting or running task, and never before the
queue's head (the lowest waiting turn; with nothing waiting, the highest
running one). So one person's fifty queued tasks hold turns 0 .. 49, and
someone else's first task, submitted while turn 3 is the head, takes turn 3:
it waits behind at most one task of each other person, not behind all fifty.
People with one task each keep first-come, first-served order (same turn,
then id). No new task ever takes a turn below the head, and within a turn
the older goes first, so the task at the head is never passed: nobody waits
for ever.

Caps (settings): `TASK_MAX_QUEUED_PER_USER` waiting tasks per person, checked
on submit after the charge has locked the person's account row, so two racing
submits cannot both slip under it; `TASK_MAX_RUNNING_PER_USER` running tasks
per person, applied by `claimable` when processors claim (off by default: the
turns are fair without it, and it costs each claim a count of running tasks).
0 turns a cap off.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from imgapp.models import Task, TaskStatus
from imgapp.services.errors import QueueFull

_pending = col(Task.status) == TaskStatus.PENDING.value
_processing = col(Task.status) == TaskStatus.PROCESSING.value


def next_turn(session: Session, *, user_id: int) -> int:
    """The turn a new task of this user takes (see the module's rule)."""
    head = session.execute(
        select(col(Task.queue_turn)).where(_pending).order_by(col(Task.queue_turn)).limit(1)
    ).scalar_one_or_none()
    if head is None:  # nothing waits: the round being served
        head = session.execute(
            select(func.max(col(Task.queue_turn))).where(_processing)
        ).scalar_one_or_none()
    own = [
        session.execute(
            select(func.max(col(Task.queue_turn))).where(col(Task.user_id) == user_id, status)
        ).scalar_one_or_none()
        for status in (_pending, _processing)  # each on its own partial index
    ]
    floor = int(head or 0)
    own_last = max((int(t) for t in own if t is not None), default=None)
    return floor if own_last is None else max(floor, own_last + 1)


def check_queued(session: Session, *, user_id: int, limit: int) -> None:
    """`QueueFull` when the user has more than `limit` waiting tasks (0: no cap).

    Call it after the new task is written and charged: the charge holds the
    user's account row, so a racing submit of theirs waits and then counts this one.
    """
    if limit <= 0:
        return
    waiting = session.execute(
        select(func.count()).select_from(Task).where(col(Task.user_id) == user_id, _pending)
    ).scalar_one()
    if int(waiting) > limit:
        raise QueueFull(limit=limit)


# The advisory lock capped claims take on PostgreSQL (any constant unique to this use).
_CAPPED_CLAIM_LOCK = 0x1A6A_0C1A


def serialize_capped_claims(session: Session) -> None:
    """Make capped claims take turns (PostgreSQL; SQLite has one writer anyway).

    Held to the end of the transaction, so the next claim counts this one's
    tasks as running. Each claim is one short statement: the wait is short.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_CAPPED_CLAIM_LOCK)))


def claimable(limit: int, *, running_cap: int) -> Any:
    """A CTE of the ids of up to `limit` pending tasks to claim now, fairly, locked.

    With a running cap on PostgreSQL, run `serialize_capped_claims` first in the
    same transaction: two processors counting at once could both see room.

    Without a running cap: the queue's first `limit` in turn order. With one:
    the first `limit` of people below the cap are locked, and of those, each
    person's first few that keep them within it (their running tasks and the
    ones picked before in this claim count); the rest stay pending, unlocked
    at commit. Only `limit` rows are ever locked: a row lock is a heap write.
    """
    order = (col(Task.queue_turn), col(Task.id))
    if running_cap <= 0:
        return (
            select(col(Task.id))
            .where(_pending)
            .order_by(*order)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises by BEGIN IMMEDIATE
            .cte("picked")
            .prefix_with("MATERIALIZED")
        )
    running = (
        select(col(Task.user_id), func.count().label("n"))
        .where(_processing)
        .group_by(col(Task.user_id))
        .cte("running")
    )
    at_cap = select(running.c.user_id).where(running.c.n >= running_cap)
    candidates = (
        select(col(Task.id), col(Task.user_id), col(Task.queue_turn))
        .where(_pending, col(Task.user_id).not_in(at_cap))
        .order_by(*order)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("candidates")
    )
    c = candidates.c
    ranked = (
        select(
            c.id,
            (
                func.row_number().over(partition_by=c.user_id, order_by=(c.queue_turn, c.id))
                + func.coalesce(running.c.n, 0)
            ).label("slot"),
        )
        .select_from(candidates.outerjoin(running, running.c.user_id == c.user_id))
        .cte("ranked")
    )
    return (
        select(ranked.c.id)
        .where(ranked.c.slot <= running_cap)
        .cte("picked")
        .prefix_with("MATERIALIZED")
    )
