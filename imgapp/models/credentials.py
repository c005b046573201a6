"""Credentials besides the password: 2FA recovery codes (`recovery_codes`) and personal API keys.

Both store only HMAC-SHA256(CREDENTIALS_SECRET, secret): the secret is shown
once and a copy of the table lets nobody in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from imgapp.models.base import BigIntKey, UTCDateTime, utcnow

API_KEY_NAME_MAX_LENGTH = 60
API_KEY_PREFIX_LENGTH = 13  # "imgk_" and 8 characters


class RecoveryCode(SQLModel, table=True):
    """One single-use recovery code of a user with two-factor sign-in on."""

    __tablename__ = "recovery_codes"

    id: int | None = Field(default=None, sa_column=Column(BigIntKey, primary_key=True))
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    code_hash: str = Field(max_length=64, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class ApiKey(SQLModel, table=True):
    """A personal API key: acts for its user on the REST API within its scopes."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("expires_at > created_at", name="expires_after_created"),)

    id: int | None = Field(default=None, sa_column=Column(BigIntKey, primary_key=True))
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(max_length=API_KEY_NAME_MAX_LENGTH, nullable=False)
    # The visible start of the key (`imgk_` + 8), shown in lists to tell keys apart.
    prefix: str = Field(max_length=API_KEY_PREFIX_LENGTH, unique=True, nullable=False)
    key_hash: str = Field(max_length=64, unique=True, nullable=False)
    # Space-separated, sorted: "generate read".
    scopes: str = Field(max_length=64, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    last_used_ip: str = Field(default="", max_length=45, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
