"""The task lifecycle: submit (and charge), claim with a lease, progress, finish, fail, cancel.

Every status change is one UPDATE whose WHERE names the states it may leave,
so a finished task can never be cancelled, a cancelled one never completed,
and a processor that lost its lease cannot write over its successor. Money
follows the status: the charge is taken with the insert, and refunded exactly
once (key `refund:task:<id>`) when a task ends failed or cancelled.

Claiming: PostgreSQL picks rows with `FOR UPDATE SKIP LOCKED`; SQLite runs the
same UPDATE under `BEGIN IMMEDIATE` (see `core/db.py`), which serialises claims.

One concern at a little over 400 lines: every transition of a task's status
and the money that follows it. The guards only make sense read side by side
(which states each UPDATE may leave), so they stay in one module; reads and
snapshots live in `task_views`, operator diagnostics in `ops/tasks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from imgapp.models import Task, TaskImage, TaskStatus
from imgapp.models.base import require_id, utcnow
from imgapp.models.tasks import ACTIVE
from imgapp.services import fair_share, ledger, task_views, webhooks
from imgapp.services.errors import NotFound, TaskFinished
from imgapp.services.generation import Params, cost
from imgapp.services.task_views import encode_message
from imgapp.services.uploads import EditSource


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
    max_queued: int = 0,
    source: EditSource | None = None,
    webhook: webhooks.Target | None = None,
) -> Submitted:
    """Queue a task and charge for it in this transaction; the same request id returns it again.

    `source`: the person's uploads an edit starts from (`uploads.source_of`).

    Over `max_queued` waiting tasks of this user (0: no cap), `QueueFull` is
    raised after the charge: the caller's rollback undoes both.
    """
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
        queue_turn=fair_share.next_turn(session, user_id=user_id),
        source_upload_id=source.image.id if source else None,
        mask_upload_id=source.mask.id if source and source.mask else None,
        webhook_url=webhook.url if webhook else None,
        webhook_events=webhook.stored_events if webhook else "",
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
    fair_share.check_queued(session, user_id=user_id, limit=max_queued)
    return Submitted(task, movement.balance_after, replayed=False)


def claim(
    session: Session, *, worker_id: str, limit: int, lease_seconds: int, running_cap: int = 0
) -> list[Task]:
    """Take up to `limit` pending tasks in fair-share order, leased to `worker_id`.

    `running_cap` (0: none) skips people already running that many tasks.
    """
    now = utcnow()
    if running_cap > 0:
        fair_share.serialize_capped_claims(session)
    # The pick runs once (MATERIALIZED) and drives the update by primary key.
    # As `id IN (subquery)` the planner may rescan the locking subquery for
    # every pending row (seen: four processors slowed to a sixth of one).
    picked = fair_share.claimable(limit, running_cap=running_cap)
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
    claimed = sorted(
        session.scalars(statement, execution_options={"synchronize_session": False}),
        key=lambda t: (t.queue_turn, require_id(t.id)),  # in turn, to start
    )
    if heard := [task_views.snapshot(t, []) for t in claimed if t.webhook_url]:
        webhooks.queue_event(session, heard, "start")
    return claimed


def heartbeat(
    session: Session,
    *,
    task_id: int,
    worker_id: str,
    lease_seconds: int,
    progress: int | None = None,
    message: str | None = None,
) -> Task | None:
    """Extend the lease (and record progress): the task as written, None when no longer ours."""
    now = utcnow()
    values: dict[str, object] = {
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "updated_at": now,
    }
    if progress is not None:
        values["progress"] = max(0, min(99, progress))
    if message is not None:
        values["message"] = message[:255]
    written = session.scalars(
        update(Task)
        .where(
            col(Task.id) == task_id,
            col(Task.worker_id) == worker_id,
            col(Task.status) == TaskStatus.PROCESSING.value,
        )
        .values(**values)
        .returning(Task),
        execution_options={"synchronize_session": False, "populate_existing": True},
    ).first()
    if written is not None and written.webhook_url and progress is not None:
        webhooks.queue_event(session, [task_views.snapshot(written, [])], "progress")
    return written


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
    [kept] = _complete_all(session, worker_id, [Completion(task_id, provider, images)])
    return kept


@dataclass(frozen=True)
class Completion:
    """A finished run waiting to be recorded: which task, who made it, what it made."""

    task_id: int
    provider: str
    images: list[StoredImage]


def _complete_all(session: Session, worker_id: str, completions: list[Completion]) -> list[bool]:
    """One UPDATE for every completion (and one INSERT for their images); which were kept."""
    if not completions:
        return []
    now = utcnow()
    providers = {c.task_id: c.provider for c in completions}
    same = len(set(providers.values())) == 1
    rows = session.execute(
        update(Task)
        .where(
            col(Task.id).in_(list(providers)),
            col(Task.worker_id) == worker_id,
            col(Task.status) == TaskStatus.PROCESSING.value,
        )
        .values(
            status=TaskStatus.COMPLETED.value,
            progress=100,
            message="",
            provider=next(iter(providers.values())) if same else case(providers, value=Task.id),
            finished_at=now,
            updated_at=now,
            lease_expires_at=None,
        )
        .returning(col(Task.id), col(Task.user_id), col(Task.webhook_url)),
        execution_options={"synchronize_session": False},
    ).all()
    owner = {row.id: row.user_id for row in rows}
    session.add_all(
        TaskImage(
            task_id=c.task_id,
            user_id=owner[c.task_id],
            position=position,
            path=image.path,
            mime_type=image.mime_type,
            width=image.width,
            height=image.height,
            size_bytes=image.size_bytes,
            provider=c.provider,
            created_at=now,
        )
        for c in completions
        if c.task_id in owner
        for position, image in enumerate(c.images)
    )
    session.flush()
    if heard := [row.id for row in rows if row.webhook_url]:
        webhooks.queue_event(session, task_views.snapshots_by_id(session, heard), "completed")
    return [c.task_id in owner for c in completions]


def complete_many(
    session: Session,
    *,
    worker_id: str,
    completions: list[Completion],
    claim_next: int = 0,
    lease_seconds: int = 0,
    running_cap: int = 0,
) -> tuple[list[bool], list[Task]]:
    """`complete` for several tasks, then `claim` up to `claim_next` more, in one transaction.

    One durable commit records the finished tasks and leases the next ones;
    the completions are one statement whatever their number.
    Answers whether each completion was kept, and the tasks claimed.
    """
    kept = _complete_all(session, worker_id, completions)
    claimed = (
        claim(
            session,
            worker_id=worker_id,
            limit=claim_next,
            lease_seconds=lease_seconds,
            running_cap=running_cap,
        )
        if claim_next > 0
        else []
    )
    return kept, claimed


@dataclass(frozen=True)
class Ended:
    """A task ended failed or cancelled: the credits that came back and the balance after."""

    task_id: int
    user_id: int
    refunded: int
    balance: int


def _refund(session: Session, *, task_id: int, user_id: int, why: str) -> Ended:
    movement = ledger.refund(
        session,
        user_id=user_id,
        charge_key=charge_key(task_id),
        key=refund_key(task_id),
        description=why,
    )
    return Ended(task_id, user_id, movement.amount, movement.balance_after)


def fail(
    session: Session, *, task_id: int, worker_id: str | None, error: str, message: str
) -> Ended | None:
    """End a processing task as failed and refund it; None if it was not ours to fail."""
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
    ended = _refund(session, task_id=task_id, user_id=row.user_id, why="task failed")
    webhooks.queue_ended(session, [task_id])
    return ended


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


def cancel(session: Session, *, task_id: int, user_id: int) -> Ended:
    """Cancel the user's pending or processing task and refund it (`NotFound` for anyone else)."""
    task = session.get(Task, task_id)
    if task is None or task.user_id != user_id:
        raise NotFound
    now = utcnow()
    row = session.execute(
        update(Task)
        .where(col(Task.id) == task_id, col(Task.status).in_(ACTIVE))
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
    ended = _refund(session, task_id=task_id, user_id=user_id, why="task cancelled")
    if task.webhook_url:
        webhooks.queue_ended(session, [task_id])
    return ended


@dataclass(frozen=True)
class Recovery:
    """What lease recovery did."""

    requeued: list[int]
    failed: list[int]
    balances: dict[int, int]  # failed task id -> its owner's balance after the refund


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
    refunds = [
        _refund(session, task_id=task_id, user_id=user_id, why="task failed")
        for task_id, user_id in exhausted
    ]
    webhooks.queue_ended(session, [e.task_id for e in refunds])
    return Recovery(
        list(requeued), [e.task_id for e in refunds], {e.task_id: e.balance for e in refunds}
    )
