"""Share links: an image its owner chose to publish at `/s/<token>`, and nothing else.

`share` gives an image of the person's a token of 128 random bits (the same
one again while it stays shared); `revoke` clears it, so the old link is
dead at once, and sharing again makes a new one. `shared` is the only read
that needs no owner: it answers an image and its task by token, and nothing
for a revoked token, a deleted task or anything never shared.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from imgapp.models import Task, TaskImage
from imgapp.models.base import utcnow
from imgapp.services.errors import NotFound

TOKEN_BYTES = 16  # 128 bits: unguessable, and short enough to paste


@dataclass(frozen=True)
class Shared:
    """A published image: what the public page shows."""

    image: TaskImage
    prompt: str


def _owned(session: Session, *, image_id: int, user_id: int) -> TaskImage:
    image = session.get(TaskImage, image_id)
    if image is None or image.user_id != user_id:
        raise NotFound
    return image


def share(session: Session, *, image_id: int, user_id: int) -> TaskImage:
    """Publish one of the person's images (already published: the same link)."""
    image = _owned(session, image_id=image_id, user_id=user_id)
    if image.share_token is None:
        session.execute(
            update(TaskImage)
            .where(col(TaskImage.id) == image_id, col(TaskImage.share_token).is_(None))
            .values(share_token=secrets.token_urlsafe(TOKEN_BYTES), shared_at=utcnow())
        )
        session.refresh(image)
    return image


def revoke(session: Session, *, image_id: int, user_id: int) -> TaskImage:
    """Take one of the person's images down: its link answers 404 from now on."""
    image = _owned(session, image_id=image_id, user_id=user_id)
    if image.share_token is not None:
        session.execute(
            update(TaskImage)
            .where(col(TaskImage.id) == image_id)
            .values(share_token=None, shared_at=None)
        )
        session.refresh(image)
    return image


def shared(session: Session, *, token: str) -> Shared:
    """The image published under `token` (`NotFound` for anything else)."""
    if not token or len(token) > 64:  # noqa: PLR2004 - far longer than any token
        raise NotFound
    found = session.exec(
        select(TaskImage, Task)
        .join(Task, col(Task.id) == TaskImage.task_id)
        .where(col(TaskImage.share_token) == token, col(Task.deleted_at).is_(None))
    ).first()
    if found is None:
        raise NotFound
    image, task = found
    return Shared(image, task.prompt)
