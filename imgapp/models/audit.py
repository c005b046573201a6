"""The append-only `audit_logs` table: who did what, to what, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, text
from sqlmodel import Field, SQLModel

from imgapp.models.base import BigIntKey, UTCDateTime, utcnow

_FAILED_LOGIN = "action = 'login_failed'"
_REGISTER = "action = 'register'"


class AuditLog(SQLModel, table=True):
    """One audited event. `target` is what it concerns (an email, an order id)."""

    __tablename__ = "audit_logs"
    # The sign-in throttle counts recent failures by email and by IP. Partial
    # indexes serve it without taxing the far more frequent money events.
    __table_args__ = (
        Index(
            "ix_audit_logs_failed_login_target",
            "target",
            "created_at",
            postgresql_where=text(_FAILED_LOGIN),
            sqlite_where=text(_FAILED_LOGIN),
        ),
        Index(
            "ix_audit_logs_failed_login_ip",
            "ip",
            "created_at",
            postgresql_where=text(_FAILED_LOGIN),
            sqlite_where=text(_FAILED_LOGIN),
        ),
        Index("ix_audit_logs_actor_created", "actor_user_id", "created_at"),
        # The sign-up limit per address counts these.
        Index(
            "ix_audit_logs_register_ip",
            "ip",
            "created_at",
            postgresql_where=text(_REGISTER),
            sqlite_where=text(_REGISTER),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigIntKey, primary_key=True))
    # A fact about the past, so no foreign key: it must not be rewritten (SET NULL)
    # or block anything, and checking it would cost every audited event.
    actor_user_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    action: str = Field(max_length=64, nullable=False)
    target: str = Field(default="", max_length=255, nullable=False)
    ip: str = Field(default="", max_length=45, nullable=False)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
