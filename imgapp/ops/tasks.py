"""Operator diagnostics for tasks (`python -m imgapp tasks inspect|stuck`).

What is stuck, what money a task moved, and what is wrong with it, with the
advice to act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from imgapp.models import LedgerEntry, Task, TaskStatus
from imgapp.models.base import utcnow
from imgapp.services import ledger
from imgapp.services.queue import charge_key, refund_key


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


def money_of(session: Session, *, task_id: int) -> tuple[LedgerEntry | None, LedgerEntry | None]:
    """The task's charge and refund ledger entries (None where there is none)."""
    return (
        ledger.entry_by_key(session, charge_key(task_id)),
        ledger.entry_by_key(session, refund_key(task_id)),
    )


def diagnose(
    task: Task, *, charge: LedgerEntry | None, refund: LedgerEntry | None, now: datetime
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
