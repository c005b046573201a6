"""Accounts and sign-in sessions: the `users` and `user_sessions` tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from imgapp.models.base import UTCDateTime, utcnow

EMAIL_MAX_LENGTH = 254
DISPLAY_NAME_MAX_LENGTH = 60
TIME_ZONE_MAX_LENGTH = 64
TOTP_SECRET_MAX_LENGTH = 64


class User(SQLModel, table=True):
    """A person with an account. `email` is stored lower-cased."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=EMAIL_MAX_LENGTH, unique=True, nullable=False)
    password_hash: str = Field(max_length=255, nullable=False)
    display_name: str = Field(default="", max_length=DISPLAY_NAME_MAX_LENGTH, nullable=False)
    # Short and unguessable; others sign up with it (`invite_relations`). Given at sign-up.
    invite_code: str | None = Field(default=None, max_length=8, unique=True, nullable=True)
    # An IANA zone for dates and reports; "" = the site's IMGAPP_TIMEZONE.
    time_zone: str = Field(
        default="",
        max_length=TIME_ZONE_MAX_LENGTH,
        nullable=False,
        sa_column_kwargs={"server_default": ""},
    )
    is_active: bool = Field(default=True, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    password_changed_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False
    )
    # Two-factor sign-in (services/two_factor): the base32 TOTP secret once enabled,
    # the one being set up (not yet confirmed by a code), and the last 30-second
    # time step a code was accepted for, so no code works twice.
    totp_secret: str | None = Field(default=None, max_length=TOTP_SECRET_MAX_LENGTH, nullable=True)
    totp_pending_secret: str | None = Field(
        default=None, max_length=TOTP_SECRET_MAX_LENGTH, nullable=True
    )
    totp_enabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    totp_last_step: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # Signs this person's task webhooks (Standard Webhooks, `whsec_...`); made on first use.
    webhook_secret: str | None = Field(default=None, max_length=64, nullable=True)

    @property
    def two_factor_enabled(self) -> bool:
        """Whether signing in needs a code as well as the password."""
        return bool(self.totp_secret)


class UserSession(SQLModel, table=True):
    """One signed-in browser. Only a keyed hash of its token is stored."""

    __tablename__ = "user_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    token_hash: str = Field(max_length=64, unique=True, nullable=False)
    ip: str = Field(default="", max_length=45, nullable=False)
    user_agent: str = Field(default="", max_length=512, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # When the person last proved it was them again (password, and code with 2FA):
    # sensitive actions need this to be recent (services/sessions.REAUTH_FOR).
    reauth_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
