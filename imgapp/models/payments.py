"""The `payment_transactions` table: one recharge order from creation to its credit.

Our `order_id` is the gateway's `order_id` end to end. Amounts are integer fen
(1 CNY = 100 fen); `credits` is what the order grants, fixed when it is made.
An order only ever moves out of `pending`; the credit itself is a ledger entry
whose idempotency key comes from the order id, so it happens at most once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, text
from sqlmodel import Field, SQLModel

from imgapp.models.base import BigIntKey, UTCDateTime, utcnow

ORDER_ID_MAX_LENGTH = 32


class PaymentStatus(StrEnum):
    """Where an order stands."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


_PENDING = "status = 'pending'"


class PaymentTransaction(SQLModel, table=True):
    """A recharge order: what was asked, what the gateway said, what was paid."""

    __tablename__ = "payment_transactions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'expired')", name="status_known"
        ),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("credits > 0", name="credits_positive"),
        Index("ix_payment_transactions_user_created", "user_id", "created_at"),
        # Reconciliation looks only at pending orders, oldest first.
        Index(
            "ix_payment_transactions_pending",
            "created_at",
            postgresql_where=text(_PENDING),
            sqlite_where=text(_PENDING),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigIntKey, primary_key=True))
    order_id: str = Field(max_length=ORDER_ID_MAX_LENGTH, unique=True, nullable=False)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    )
    provider: str = Field(max_length=16, nullable=False)  # xorpay | sandbox
    pay_type: str = Field(max_length=16, nullable=False)  # alipay | native
    amount_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    credits: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(default=PaymentStatus.PENDING.value, max_length=16, nullable=False)
    # Whether the gateway accepted the order (False: no answer yet, may be retried).
    confirmed: bool = Field(default=False, nullable=False)
    # The gateway's last refusal (its `status` word), for the page and for operators.
    gateway_error: str = Field(default="", max_length=64, nullable=False)
    aoid: str = Field(default="", max_length=64, nullable=False)
    qr: str = Field(default="", max_length=1024, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    paid_price: str = Field(default="", max_length=16, nullable=False)
    transaction_id: str = Field(default="", max_length=128, nullable=False)
    bank_type: str = Field(default="", max_length=64, nullable=False)
    buyer: str = Field(default="", max_length=128, nullable=False)
    # Set when a notification did not add up (say, a different amount): a person must look.
    review_reason: str = Field(default="", max_length=255, nullable=False)
    # The notification exactly as received (form fields), for disputes.
    notification: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    ledger_entry_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
