"""Task processors' heartbeats: each processor's last poll, for readiness and metrics."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from imgapp.models import WorkerHeartbeat
from imgapp.models.base import utcnow
from imgapp.models.heartbeats import WORKER_ID_MAX_LENGTH

IN_APP, STANDALONE = "in_app", "standalone"
# Rows of processors that died without saying so are removed when a new one starts.
FORGOTTEN_AFTER = timedelta(days=1)


def beat(
    session: Session, *, worker_id: str, kind: str, host: str = "", pid: int = 0, slots: int = 0
) -> None:
    """Record that the processor `worker_id` is alive now (its row is made on the first beat).

    Only the processor itself writes its row, so update-then-insert cannot race.
    """
    worker_id = worker_id[:WORKER_ID_MAX_LENGTH]
    now = utcnow()
    updated = session.execute(
        update(WorkerHeartbeat)
        .where(col(WorkerHeartbeat.worker_id) == worker_id)
        .values(last_seen_at=now, slots=slots),
        execution_options={"synchronize_session": False},
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(
            delete(WorkerHeartbeat).where(col(WorkerHeartbeat.last_seen_at) < now - FORGOTTEN_AFTER)
        )
        session.add(
            WorkerHeartbeat(
                worker_id=worker_id,
                kind=kind,
                host=host[:255],
                pid=pid,
                slots=slots,
                started_at=now,
                last_seen_at=now,
            )
        )
        session.flush()


def forget(session: Session, *, worker_id: str) -> None:
    """A processor stopped cleanly: it is no longer expected to beat."""
    session.execute(
        delete(WorkerHeartbeat).where(
            col(WorkerHeartbeat.worker_id) == worker_id[:WORKER_ID_MAX_LENGTH]
        )
    )


def last_seen(session: Session, *, worker_id: str) -> datetime | None:
    """When the processor `worker_id` last beat (None: never, or it stopped)."""
    row = session.get(WorkerHeartbeat, worker_id[:WORKER_ID_MAX_LENGTH])
    return row.last_seen_at if row is not None else None


def alive(session: Session, *, since: datetime, kind: str | None = None) -> list[WorkerHeartbeat]:
    """The processors that beat at `since` or later (of one `kind` if given), newest first."""
    query = select(WorkerHeartbeat).where(col(WorkerHeartbeat.last_seen_at) >= since)
    if kind is not None:
        query = query.where(col(WorkerHeartbeat.kind) == kind)
    return list(session.exec(query.order_by(col(WorkerHeartbeat.last_seen_at).desc())).all())
