"""The generation queue (`ai_images_creator_tasks`, the seed's name) and its images.

A task is charged when it is accepted, leased by one processor at a time, and
ends completed (charge kept), failed or cancelled (charge refunded once).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from imgapp.models.base import BigIntKey, UTCDateTime, utcnow


class TaskStatus(StrEnum):
    """Where a task is in its life."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


# The statuses a task may still leave (it can be cancelled), as stored.
ACTIVE: tuple[str, ...] = (TaskStatus.PENDING.value, TaskStatus.PROCESSING.value)
_PENDING = "status = 'pending'"
_PROCESSING = "status = 'processing'"


class Task(SQLModel, table=True):
    """One generation request: its parameters, its progress and its outcome."""

    __tablename__ = "ai_images_creator_tasks"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')",
            name="status_known",
        ),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        CheckConstraint("n >= 1 AND n <= 4", name="image_count_range"),
        CheckConstraint("cost > 0", name="cost_positive"),
        UniqueConstraint("user_id", "client_request_id", name="one_task_per_request"),
        Index("ix_tasks_user_created", "user_id", "created_at"),
        # A person's starred tasks (the history's "favourites only").
        Index(
            "ix_tasks_user_favourite",
            "user_id",
            "id",
            postgresql_where=text("favourite"),
            sqlite_where=text("favourite"),
        ),
        # The processors' queue: only pending rows, in fair-share turn, then oldest first.
        Index(
            "ix_tasks_pending",
            "queue_turn",
            "id",
            postgresql_where=text(_PENDING),
            sqlite_where=text(_PENDING),
        ),
        # Each user's waiting tasks: their next turn and their cap. Pending only, so
        # a claim (pending -> processing) adds no entry to it: the queue's hot path.
        Index(
            "ix_tasks_user_pending",
            "user_id",
            "queue_turn",
            postgresql_where=text(_PENDING),
            sqlite_where=text(_PENDING),
        ),
        # Which tasks use an upload: the sweep of unused uploads, the RESTRICT check.
        Index(
            "ix_tasks_source_upload",
            "source_upload_id",
            postgresql_where=text("source_upload_id IS NOT NULL"),
            sqlite_where=text("source_upload_id IS NOT NULL"),
        ),
        Index(
            "ix_tasks_mask_upload",
            "mask_upload_id",
            postgresql_where=text("mask_upload_id IS NOT NULL"),
            sqlite_where=text("mask_upload_id IS NOT NULL"),
        ),
        # Lease recovery looks only at rows being processed.
        Index(
            "ix_tasks_lease",
            "lease_expires_at",
            postgresql_where=text(_PROCESSING),
            sqlite_where=text(_PROCESSING),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigIntKey, primary_key=True))
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    )
    client_request_id: str | None = Field(default=None, max_length=64, nullable=True)
    prompt: str = Field(sa_column=Column(Text, nullable=False))
    negative_prompt: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    model: str = Field(max_length=64, nullable=False)
    size: str = Field(max_length=16, nullable=False)
    n: int = Field(default=1, nullable=False)
    quality: str = Field(default="standard", max_length=16, nullable=False)
    style: str = Field(default="", max_length=32, nullable=False)
    provider: str = Field(max_length=16, nullable=False)
    status: str = Field(default=TaskStatus.PENDING.value, max_length=16, nullable=False)
    progress: int = Field(default=0, nullable=False)
    message: str = Field(default="", max_length=255, nullable=False)
    cost: int = Field(sa_column=Column(BigInteger, nullable=False))
    refunded: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    attempts: int = Field(default=0, nullable=False)
    # Fair share: processors take pending tasks by (queue_turn, id). A user's
    # next task is one turn after their last active one, and never before the
    # queue's head, so everyone's first task waits behind at most one task of
    # each other user (services.fair_share).
    queue_turn: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    # An edit: the uploaded picture it starts from, and the optional mask (models/uploads).
    source_upload_id: int | None = Field(
        default=None,
        sa_column=Column(BigIntKey, ForeignKey("uploads.id", ondelete="RESTRICT"), nullable=True),
    )
    mask_upload_id: int | None = Field(
        default=None,
        sa_column=Column(BigIntKey, ForeignKey("uploads.id", ondelete="RESTRICT"), nullable=True),
    )
    # An API caller's webhook: where to POST this task's events, and which ones
    # ("start,progress,completed"; services/webhooks). None: no webhook.
    webhook_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    webhook_events: str = Field(default="", max_length=40, nullable=False)
    # The history: starred by its owner; deleted by its owner (its images and files
    # gone, the row kept so the ledger's entries still name it; hidden everywhere).
    favourite: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    worker_id: str | None = Field(default=None, max_length=64, nullable=True)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class TaskImage(SQLModel, table=True):
    """A generated image file, served only to its owner by id."""

    __tablename__ = "task_images"
    __table_args__ = (
        Index("ix_task_images_task", "task_id"),
        Index("ix_task_images_share_token", "share_token", unique=True),
    )

    id: int | None = Field(default=None, sa_column=Column(BigIntKey, primary_key=True))
    task_id: int = Field(
        sa_column=Column(
            BigIntKey, ForeignKey("ai_images_creator_tasks.id", ondelete="CASCADE"), nullable=False
        )
    )
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    )
    position: int = Field(default=0, nullable=False)
    path: str = Field(max_length=255, nullable=False)  # relative to the data directory
    mime_type: str = Field(max_length=32, nullable=False)
    width: int = Field(nullable=False)
    height: int = Field(nullable=False)
    size_bytes: int = Field(nullable=False)
    provider: str = Field(max_length=16, nullable=False)
    # A public link `/s/<share_token>` its owner turned on (None: private). Turning
    # it off clears the token, so the link is dead at once; on again: a new one.
    share_token: str | None = Field(default=None, max_length=43, nullable=True)
    shared_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
