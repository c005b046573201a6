"""The generation queue: submit (and charge), claim with a lease, progress, finish, cancel.

Every status change is one UPDATE whose WHERE names the states it may leave,
so a finished task can never be cancelled, a cancelled one never completed,
and a processor that lost its lease cannot write over its successor. Money
follows the status: the charge is taken with the insert, and refunded exactly
once (key `refund:task:<id>`) when a task ends failed or cancelled.

Claiming: PostgreSQL picks rows with `FOR UPDATE SKIP LOCKED`; SQLite runs the
same UPDATE under `BEGIN IMMEDIATE` (see `db.py`), which serialises claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import case, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from imgapp.models import Task, TaskImage, TaskStatus
from imgapp.models.base import require_id, utcnow
from imgapp.services import ledger
from imgapp.services.errors import NotFound, TaskFinished
from imgapp.services.generation import Params, cost

_ACTIVE = (TaskStatus.PENDING.value, TaskStatus.PROCESSING.value)


def charge_key(task_id: int) -> str:
    """The ledger key of a task's charge."""
    return f"charge:task:{task_id}"


def refund_key(task_id: int) -> str:
    """The ledger key of a task's (single) refund."""
    return f"refund:task:{task_id}"


@dataclass(frozen=True)
class Submitted:
    """A task as accepted: `replayed` when the request id was seen before."""

    task: Task
    balance: int
    replayed: bool


def params_of(task: Task) -> Params:
    """The generation parameters a task was submitted with."""
    return Params(
        prompt=task.prompt,
        negative_prompt=task.negative_prompt,
        model=task.model,
        size=task.size,
        n=task.n,
        quality=task.quality,
        style=task.style,
    )


def _by_request(session: Session, user_id: int, request_id: str) -> Task | None:
    return session.exec(
        select(Task).where(Task.user_id == user_id, Task.client_request_id == request_id)
    ).first()


def submit(
    session: Session,
    *,
    user_id: int,
    params: Params,
    provider: str,
    request_id: str | None = None,
) -> Submitted:
    """Queue a task and charge for it in this transaction; the same request id returns it again."""
    if request_id and (earlier := _by_request(session, user_id, request_id)):
        return Submitted(earlier, ledger.balance(session, user_id=user_id), replayed=True)
    now = utcnow()
    task = Task(
        user_id=user_id,
        client_request_id=request_id,
        prompt=params.prompt,
        negative_prompt=params.negative_prompt,
        model=params.model,
        size=params.size,
        n=params.n,
        quality=params.quality,
        style=params.style,
        provider=provider,
        cost=cost(params),
        message="",
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(task)
            session.flush()
    except IntegrityError:  # a double submit racing this one won; answer with its task
        earlier = _by_request(session, user_id, request_id or "")
        if earlier is None:
            raise
        return Submitted(earlier, ledger.balance(session, user_id=user_id), replayed=True)
    task_id = require_id(task.id)
    movement = ledger.charge(
        session,
        user_id=user_id,
        credits=task.cost,
        key=charge_key(task_id),
        usage=ledger.Usage(
            task_id=task_id, model=params.model, size=params.size, image_count=params.n
        ),
        reference=ledger.Reference("task", str(task_id)),
        description=params.prompt[:120],
    )
    return Submitted(task, movement.balance_after, replayed=False)


def claim(session: Session, *, worker_id: str, limit: int, lease_seconds: int) -> list[Task]:
    """Take up to `limit` pending tasks, oldest first, leased to `worker_id`."""
    now = utcnow()
    # The pick runs once (MATERIALIZED) and drives the update by primary key.
    # As `id IN (subquery)` the planner may rescan the locking subquery for
    # every pending row (seen: four processors slowed to a sixth of one).
    picked = (
        select(Task.id)
        .where(col(Task.status) == TaskStatus.PENDING.value)
        .order_by(col(Task.id))
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite is serialised by BEGIN IMMEDIATE
        .cte("picked")
        .prefix_with("MATERIALIZED")
    )
    statement = (
        update(Task)
        .where(col(Task.id) == picked.c.id)  # locked while pending: still pending
        .values(
            status=TaskStatus.PROCESSING.value,
            worker_id=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=col(Task.attempts) + 1,
            started_at=func.coalesce(col(Task.started_at), now),
            updated_at=now,
            message="",
        )
        .returning(Task)
    )
    return list(session.scalars(statement, execution_options={"synchronize_session": False}))


def heartbeat(
    session: Session,
    *,
    task_id: int,
    worker_id: str,
    lease_seconds: int,
    progress: int | None = None,
    message: str | None = None,
) -> bool:
    """Extend the lease (and record progress); False when the task is no longer ours to run."""
    now = utcnow()
    values: dict[str, object] = {
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "updated_at": now,
    }
    if progress is not None:
        values["progress"] = max(0, min(99, progress))
    if message is not None:
        values["message"] = message[:255]
    result = session.execute(
        update(Task)
        .where(
            col(Task.id) == task_id,
            col(Task.worker_id) == worker_id,
            col(Task.status) == TaskStatus.PROCESSING.value,
        )
        .values(**values)
        .returning(col(Task.id)),
        execution_options={"synchronize_session": False},
    ).first()
    return result is not None


@dataclass(frozen=True)
class StoredImage:
    """An image file already written under the data directory."""

    path: str
    mime_type: str
    width: int
    height: int
    size_bytes: int


def complete(
    session: Session, *, task_id: int, worker_id: str, provider: str, images: list[StoredImage]
) -> bool:
    """Mark the task completed with its images; False if it was cancelled or re-leased meanwhile."""
    now = utcnow()
    row = session.execute(
        update(Task)
        .where(
            col(Task.id) == task_id,
            col(Task.worker_id) == worker_id,
            col(Task.status) == TaskStatus.PROCESSING.value,
        )
        .values(
            status=TaskStatus.COMPLETED.value,
            progress=100,
            message="",
            provider=provider,
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
        )
        .returning(col(Task.user_id)),
        execution_options={"synchronize_session": False},
    ).first()
    if row is None:
        return False
    session.add_all(
        TaskImage(
            task_id=task_id,
            user_id=row.user_id,
            position=position,
            path=image.path,
            mime_type=image.mime_type,
            width=image.width,
            height=image.height,
            size_bytes=image.size_bytes,
            provider=provider,
            created_at=now,
        )
        for position, image in enumerate(images)
    )
    session.flush()
    return True


@dataclass(frozen=True)
class Completion:
    """A finished run waiting to be recorded: which task, who made it, what it made."""

    task_id: int
    provider: str
    images: list[StoredImage]


def complete_many(
    session: Session,
    *,
    worker_id: str,
    completions: list[Completion],
    claim_next: int = 0,
    lease_seconds: int = 0,
) -> tuple[list[bool], list[Task]]:
    """`complete` for several tasks, then `claim` up to `claim_next` more, in one transaction.

    One durable commit records the finished tasks and leases the next ones.
    Answers whether each completion was kept, and the tasks claimed.
    """
    kept = [
        complete(
            session, task_id=c.task_id, worker_id=worker_id, provider=c.provider, images=c.images
        )
        for c in completions
    ]
    claimed = (
        claim(session, worker_id=worker_id, limit=claim_next, lease_seconds=lease_seconds)
        if claim_next > 0
        else []
    )
    return kept, claimed


def _refund(session: Session, *, task_id: int, user_id: int, why: str) -> int:
    movement = ledger.refund(
        session,
        user_id=user_id,
        charge_key=charge_key(task_id),
        key=refund_key(task_id),
        description=why,
    )
    return movement.amount


def fail(
    session: Session, *, task_id: int, worker_id: str | None, error: str, message: str
) -> int | None:
    """End a processing task as failed and refund it; the refund, or None if it was not ours."""
    now = utcnow()
    conditions = [col(Task.id) == task_id, col(Task.status) == TaskStatus.PROCESSING.value]
    if worker_id is not None:
        conditions.append(col(Task.worker_id) == worker_id)
    row = session.execute(
        update(Task)
        .where(*conditions)
        .values(
            status=TaskStatus.FAILED.value,
            error=error[:4000],
            message=message[:255],
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
            refunded=col(Task.cost),
        )
        .returning(col(Task.user_id)),
        execution_options={"synchronize_session": False},
    ).first()
    if row is None:
        return None
    return _refund(session, task_id=task_id, user_id=row.user_id, why="task failed")


def release(session: Session, *, task_id: int, worker_id: str) -> bool:
    """Give a task back to the queue untouched (a processor shutting down)."""
    now = utcnow()
    row = session.execute(
        update(Task)
        .where(
            col(Task.id) == task_id,
            col(Task.worker_id) == worker_id,
            col(Task.status) == TaskStatus.PROCESSING.value,
        )
        .values(
            status=TaskStatus.PENDING.value,
            worker_id=None,
            lease_expires_at=None,
            attempts=case((col(Task.attempts) > 0, col(Task.attempts) - 1), else_=0),
            progress=0,
            message="",
            updated_at=now,
        )
        .returning(col(Task.id)),
        execution_options={"synchronize_session": False},
    ).first()
    return row is not None


def cancel(session: Session, *, task_id: int, user_id: int) -> int:
    """Cancel the user's pending or processing task; returns the credits refunded."""
    task = session.get(Task, task_id)
    if task is None or task.user_id != user_id:
        raise NotFound
    now = utcnow()
    row = session.execute(
        update(Task)
        .where(col(Task.id) == task_id, col(Task.status).in_(_ACTIVE))
        .values(
            status=TaskStatus.CANCELLED.value,
            cancelled_at=now,
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
            refunded=col(Task.cost),
            message="",
        )
        .returning(col(Task.id)),
        execution_options={"synchronize_session": False},
    ).first()
    if row is None:
        session.refresh(task)
        raise TaskFinished(task.status)
    return _refund(session, task_id=task_id, user_id=user_id, why="task cancelled")


@dataclass(frozen=True)
class Recovery:
    """What lease recovery did."""

    requeued: list[int]
    failed: list[int]


def recover_expired(session: Session, *, max_attempts: int) -> Recovery:
    """Tasks whose processor stopped renewing: back to the queue, or failed and refunded."""
    now = utcnow()
    expired = (
        col(Task.status) == TaskStatus.PROCESSING.value,
        col(Task.lease_expires_at) < now,
    )
    requeued = session.scalars(
        update(Task)
        .where(*expired, col(Task.attempts) < max_attempts)
        .values(
            status=TaskStatus.PENDING.value,
            worker_id=None,
            lease_expires_at=None,
            progress=0,
            message=encode_message("task.msg.requeued"),
            updated_at=now,
        )
        .returning(col(Task.id)),
        execution_options={"synchronize_session": False},
    ).all()
    exhausted = session.execute(
        update(Task)
        .where(*expired, col(Task.attempts) >= max_attempts)
        .values(
            status=TaskStatus.FAILED.value,
            error="the processor stopped while running it, too many times",
            message=encode_message("task.msg.gave_up"),
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
            refunded=col(Task.cost),
        )
        .returning(col(Task.id), col(Task.user_id)),
        execution_options={"synchronize_session": False},
    ).all()
    for task_id, user_id in exhausted:
        _refund(session, task_id=task_id, user_id=user_id, why="task failed")
    return Recovery(list(requeued), [task_id for task_id, _ in exhausted])


def get(session: Session, *, task_id: int, user_id: int) -> Task:
    """The user's task, or `NotFound` (also for someone else's)."""
    task = session.get(Task, task_id)
    if task is None or task.user_id != user_id:
        raise NotFound
    return task


def images_of(session: Session, task_ids: list[int]) -> dict[int, list[TaskImage]]:
    """The images of these tasks, by task, in order."""
    if not task_ids:
        return {}
    found: dict[int, list[TaskImage]] = {i: [] for i in task_ids}
    rows = session.exec(
        select(TaskImage)
        .where(col(TaskImage.task_id).in_(task_ids))
        .order_by(col(TaskImage.task_id), col(TaskImage.position))
    ).all()
    for image in rows:
        found[image.task_id].append(image)
    return found


def recent(session: Session, *, user_id: int, limit: int = 30) -> list[Task]:
    """The user's latest tasks, newest first."""
    return list(
        session.exec(
            select(Task).where(Task.user_id == user_id).order_by(col(Task.id).desc()).limit(limit)
        ).all()
    )


def image_for_owner(session: Session, *, image_id: int, user_id: int) -> TaskImage:
    """An image file record, only for its owner (`NotFound` for anyone else)."""
    image = session.get(TaskImage, image_id)
    if image is None or image.user_id != user_id:
        raise NotFound
    return image


def changed_since(session: Session, *, user_ids: list[int], since: datetime) -> list[Task]:
    """Tasks of these users updated after `since` (the live bridge's catch-up)."""
    if not user_ids:
        return []
    return list(
        session.exec(
            select(Task).where(col(Task.user_id).in_(user_ids), col(Task.updated_at) > since)
        ).all()
    )


def encode_message(key: str, params: dict[str, object] | None = None) -> str:
    """A status message as stored: a catalogue key plus its parameters, query-string style."""
    if not params:
        return key
    return f"{key}?{urlencode({k: str(v) for k, v in params.items()})}"[:255]


def decode_message(stored: str) -> tuple[str, dict[str, str]]:
    """The catalogue key and parameters of a stored status message."""
    key, _, query = stored.partition("?")
    return key, dict(parse_qsl(query))


def snapshot(task: Task, images: list[TaskImage]) -> dict[str, object]:
    """Everything a page or the API shows about a task, as plain data."""
    message_key, message_params = decode_message(task.message)
    return {
        "id": task.id,
        "status": task.status,
        "progress": task.progress,
        "message_key": message_key,
        "message_params": message_params,
        "prompt": task.prompt,
        "negative_prompt": task.negative_prompt,
        "model": task.model,
        "size": task.size,
        "n": task.n,
        "quality": task.quality,
        "style": task.style,
        "provider": task.provider,
        "cost": task.cost,
        "refunded": task.refunded,
        "attempts": task.attempts,
        "created_at": task.created_at,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
        "cancelled_at": task.cancelled_at,
        "updated_at": task.updated_at,
        "image_ids": [image.id for image in images],
    }


def snapshots(session: Session, task_list: list[Task]) -> list[dict[str, object]]:
    """`snapshot` for several tasks with one query for their images."""
    found = images_of(session, [require_id(t.id) for t in task_list])
    return [snapshot(t, found.get(require_id(t.id), [])) for t in task_list]


@dataclass(frozen=True)
class Stuck:
    """Tasks that need a look: waiting too long, or held by a processor that went quiet."""

    pending: list[Task]
    expired: list[Task]


def stuck(session: Session, *, pending_for: timedelta) -> Stuck:
    """Pending longer than `pending_for`, and processing with an expired lease."""
    now = utcnow()
    pending = session.exec(
        select(Task)
        .where(
            col(Task.status) == TaskStatus.PENDING.value, col(Task.created_at) < now - pending_for
        )
        .order_by(col(Task.id))
    ).all()
    expired = session.exec(
        select(Task)
        .where(col(Task.status) == TaskStatus.PROCESSING.value, col(Task.lease_expires_at) < now)
        .order_by(col(Task.id))
    ).all()
    return Stuck(list(pending), list(expired))


def money_of(session: Session, *, task_id: int) -> tuple[object | None, object | None]:
    """The task's charge and refund ledger entries (None where there is none)."""
    return (
        ledger.entry_by_key(session, charge_key(task_id)),
        ledger.entry_by_key(session, refund_key(task_id)),
    )


def diagnose(
    task: Task, *, charge: object | None, refund: object | None, now: datetime
) -> list[str]:
    """What is wrong with a task, if anything, and what to do about it."""
    notes: list[str] = []
    if charge is None:
        notes.append("PROBLEM: no charge entry. Run `python -m imgapp credits check`.")
    finished_badly = task.status in (TaskStatus.FAILED.value, TaskStatus.CANCELLED.value)
    if finished_badly and refund is None:
        notes.append("PROBLEM: ended without its refund. Report this; do not refund by hand twice.")
    if task.status == TaskStatus.COMPLETED.value and refund is not None:
        notes.append("PROBLEM: completed but refunded.")
    if task.status == TaskStatus.PENDING.value and now - task.created_at > timedelta(minutes=2):
        notes.append(
            "Waiting for a processor for over 2 minutes: is the app running with "
            "TASK_PROCESSOR_IN_APP=true, or a `python -m imgapp.worker`? Check their logs."
        )
    if (
        task.status == TaskStatus.PROCESSING.value
        and task.lease_expires_at is not None
        and task.lease_expires_at < now
    ):
        notes.append(
            f"Its processor ({task.worker_id}) stopped renewing the lease; the next poll of any "
            f"processor puts it back in the queue (attempt {task.attempts} so far)."
        )
    if not notes:
        notes.append("Nothing wrong.")
    return notes
