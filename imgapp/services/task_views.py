"""Tasks as people see them: the owner's reads and the plain-data snapshots.

Pages, the API and the live bridge all show a task through `snapshot`. Status
messages are stored as a catalogue key plus parameters (`encode_message`), so
each reader shows them in its own language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func
from sqlmodel import Session, col, select

from imgapp.models import Task, TaskImage, TaskStatus
from imgapp.models.base import require_id
from imgapp.services.errors import NotFound


def get(session: Session, *, task_id: int, user_id: int) -> Task:
    """The user's task, or `NotFound` (also for someone else's)."""
    task = session.get(Task, task_id)
    if task is None or task.user_id != user_id or task.deleted_at is not None:
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
            select(Task)
            .where(col(Task.user_id) == user_id, col(Task.deleted_at).is_(None))
            .order_by(col(Task.id).desc())
            .limit(limit)
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


def stored_time(when: datetime | str) -> datetime:
    """A snapshot's time as an aware UTC datetime: naive UTC from SQLite, or ISO text off a bus."""
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


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
        "user_id": task.user_id,
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
        "favourite": task.favourite,
        "deleted": task.deleted_at is not None,  # its owner deleted it: pages drop it
        "webhook_url": task.webhook_url,
        "webhook_events": task.webhook_events,
        "source_upload_id": task.source_upload_id,
        "mask_upload_id": task.mask_upload_id,
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
        # Each published image's link token (its owner's pages and API show the link).
        "image_shares": {str(i.id): i.share_token for i in images if i.share_token},
    }


def snapshots(session: Session, task_list: list[Task]) -> list[dict[str, object]]:
    """`snapshot` for several tasks with one query for their images."""
    found = images_of(session, [require_id(t.id) for t in task_list])
    return [snapshot(t, found.get(require_id(t.id), [])) for t in task_list]


def snapshots_by_id(session: Session, task_ids: list[int]) -> list[dict[str, object]]:
    """Fresh snapshots of these tasks as this transaction sees them now (after its own UPDATEs)."""
    if not task_ids:
        return []
    found = session.exec(
        select(Task)
        .where(col(Task.id).in_(task_ids))
        .order_by(col(Task.id))
        .execution_options(populate_existing=True)
    ).all()
    return snapshots(session, list(found))


@dataclass(frozen=True)
class PendingSummary:
    """The queue as readiness and metrics see it."""

    depth: int  # tasks waiting for a processor
    oldest_created_at: datetime | None  # the longest-waiting one's submission

    def oldest_age_seconds(self, now: datetime) -> float:
        """How long the longest-waiting task has waited (0 for an empty queue)."""
        if self.oldest_created_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_created_at).total_seconds())


def pending_summary(session: Session) -> PendingSummary:
    """How many tasks wait, and since when the oldest does (one pass over the pending rows).

    The pending-only index is in fair-share order, not age order: the oldest
    is found among the waiting rows, which are few next to the table.
    """
    pending = col(Task.status) == TaskStatus.PENDING.value
    depth, oldest = session.exec(
        select(func.count(), func.min(col(Task.created_at))).select_from(Task).where(pending)
    ).one()
    return PendingSummary(int(depth), oldest)
