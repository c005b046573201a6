"""Invitations: each user's invite code lives on `users`; `invite_relations` says who invited whom.

One relation per invitee (UNIQUE), written when the invitee binds a code. Its
status follows the reward: `pending` (bound, no first recharge yet),
`rewarded`, `held` (a cap or a risk signal; `status_reason` says which) or
`rejected`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from imgapp.models.base import BigIntKey, UTCDateTime, utcnow

INVITE_CODE_LENGTH = 8


class InviteStatus(StrEnum):
    """Where an invitee's reward stands."""

    PENDING = "pending"
    REWARDED = "rewarded"
    HELD = "held"
    REJECTED = "rejected"


class InviteRelation(SQLModel, table=True):
    """Who invited whom, with which code, and what became of the inviter's reward."""

    __tablename__ = "invite_relations"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'rewarded', 'held', 'rejected')", name="status_known"
        ),
        CheckConstraint("inviter_id <> invitee_id", name="not_self"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigIntKey, primary_key=True))
    inviter_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    invitee_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, unique=True
        )
    )
    code: str = Field(max_length=INVITE_CODE_LENGTH, nullable=False)
    status: str = Field(default=InviteStatus.PENDING.value, max_length=16, nullable=False)
    status_reason: str = Field(default="", max_length=64, nullable=False)
    # Risk seen at binding (the same normalised email); judged when the reward is due.
    flag: str = Field(default="", max_length=64, nullable=False)
    invitee_ip: str = Field(default="", max_length=45, nullable=False)
    # The inviter's reward: worked out when it fell due (held ones keep it for review).
    reward_credits: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    reward_entry_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    rewarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    welcome_entry_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
