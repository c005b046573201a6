"""Task webhook deliveries: one row per event a task's owner asked to hear.

Each row is one message (its `message_id` is the `webhook-id` header, the
same on every retry) with the body fixed when the event happened; the
delivery worker signs and POSTs it, and on a failure tries again later
(`next_attempt_at`) until `WEBHOOK_RETRY_HOURS` have passed. The rows are
the task's delivery log.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, Text, text
from sqlmodel import Field, SQLModel

from imgapp.models.base import BigIntKey, UTCDateTime, utcnow


class DeliveryStatus(StrEnum):
    """Where a delivery is."""

    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # gave up: refused target, or retried for WEBHOOK_RETRY_HOURS


class WebhookDelivery(SQLModel, table=True):
    """One webhook message of a task, and how its delivery went."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name="delivery_status_known"
        ),
        CheckConstraint("event IN ('start', 'progress', 'completed')", name="event_known"),
        Index("ix_webhook_deliveries_task", "task_id", "id"),
        # The delivery worker's queue: only what still waits, soonest first.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
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
    event: str = Field(max_length=16, nullable=False)
    message_id: str = Field(max_length=64, unique=True, nullable=False)
    url: str = Field(sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the JSON body, as sent
    status: str = Field(default=DeliveryStatus.PENDING.value, max_length=16, nullable=False)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_status_code: int | None = Field(default=None, nullable=True)
    last_error: str = Field(default="", max_length=255, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
