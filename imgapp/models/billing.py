"""Money tables: `billing_accounts` and the immutable `ledger_entries`.

All amounts are integer credits. A balance only moves together with a ledger
entry, so for every account balance == sum(amounts) (see `services.ledger`).
Database triggers (in the migration) refuse UPDATE and DELETE on entries.
What a charge paid for (task, model, size, images) is part of its entry: the
usage report reads the entries themselves (migration 0011 folded the former
`usage_logs` table into them).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlmodel import Field, SQLModel

from imgapp.models.base import BigIntKey, UTCDateTime, utcnow

IDEMPOTENCY_KEY_MAX_LENGTH = 128


class LedgerKind(StrEnum):
    """Why a balance moved."""

    RECHARGE = "recharge"
    CHARGE = "charge"
    REFUND = "refund"
    REWARD = "reward"
    ADJUSTMENT = "adjustment"


_REFUND = "kind = 'refund'"

# Money coming in is positive, a charge is negative, an operator's adjustment either.
_KIND_SIGN = (
    "(kind = 'charge' AND amount < 0)"
    " OR (kind IN ('recharge', 'refund', 'reward') AND amount > 0)"
    " OR (kind = 'adjustment' AND amount <> 0)"
)


class BillingAccount(SQLModel, table=True):
    """One per user, opened at sign-up. The balance can never go below zero."""

    __tablename__ = "billing_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        # Room on each page for the next version of a row: balance updates stay HOT.
        {"postgresql_with": {"fillfactor": 70}},
    )

    user_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("users.id", ondelete="RESTRICT"),
            primary_key=True,
            autoincrement=False,
        )
    )
    balance: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class LedgerEntry(SQLModel, table=True):
    """One balance movement. Written once, never changed."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(_KIND_SIGN, name="amount_sign_matches_kind"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        CheckConstraint(
            "kind IN ('recharge', 'charge', 'refund', 'reward', 'adjustment')", name="kind_known"
        ),
        Index("ix_ledger_entries_user_created", "user_id", "created_at"),
        # Only refunds are looked up by what they reference (the charge they
        # return); charges, the hot path, skip this index entirely.
        Index(
            "ix_ledger_entries_refund_of",
            "reference_type",
            "reference_id",
            postgresql_where=text(_REFUND),
            sqlite_where=text(_REFUND),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigIntKey, primary_key=True))
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    )
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    balance_after: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(max_length=16, nullable=False)
    reference_type: str = Field(default="", max_length=32, nullable=False)
    reference_id: str = Field(default="", max_length=64, nullable=False)
    idempotency_key: str = Field(max_length=IDEMPOTENCY_KEY_MAX_LENGTH, unique=True, nullable=False)
    description: str = Field(default="", max_length=255, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # What a charge paid for (blank on other kinds, and on a charge for no task).
    task_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    model: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=""))
    size: str = Field(default="", sa_column=Column(String(16), nullable=False, server_default=""))
    image_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )

    @property
    def reference(self) -> str:
        """What the entry concerns, as `type:id` (or just `type`)."""
        if not self.reference_id:
            return self.reference_type
        return f"{self.reference_type}:{self.reference_id}"
