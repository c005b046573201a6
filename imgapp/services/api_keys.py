"""Personal API keys: create (after re-authentication), list, revoke, and resolve a Bearer key.

A key is `imgk_` + 8 visible characters (the prefix, shown in lists) + `_` +
a random secret; only HMAC-SHA256(CREDENTIALS_SECRET, key) is stored, so the
key is shown once. A key acts for its user on the REST API within its scopes:
`read` (reports, tasks, orders, images), `generate` (submit and cancel tasks),
`pay` (open recharge orders). Revoked and expired keys stop at once: every
request resolves the key again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from imgapp.models import ApiKey, User
from imgapp.models.base import require_id, utcnow
from imgapp.models.credentials import API_KEY_NAME_MAX_LENGTH
from imgapp.services import audit, passwords, sessions
from imgapp.services.audit import Action
from imgapp.services.errors import (
    ApiKeyExpired,
    ApiKeyInvalid,
    ApiKeyRevoked,
    NotFound,
    ValidationFailed,
)

KEY_PREFIX = "imgk_"
SCOPES = ("read", "generate", "pay")
DEFAULT_DAYS = 90
MIN_DAYS = 1
MAX_DAYS = 366
_PREFIX_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_PREFIX_CHARS = 8
_SECRET_BYTES = 32
_MAX_KEY_LENGTH = 128
_HASH_PURPOSE = "api-key"
# last_used_at is rewritten at most this often per key, not on every request.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class KeyPrincipal:
    """Who a valid API key acts for, and what it may do."""

    user_id: int
    email: str
    display_name: str
    time_zone: str
    key_id: int
    scopes: frozenset[str]
    last_used_at: datetime | None

    def allows(self, scope: str) -> bool:
        """Whether the key carries `scope`."""
        return scope in self.scopes

    @property
    def needs_touch(self) -> bool:
        """Whether the last use is unrecorded or stale enough to be rewritten."""
        return self.last_used_at is None or utcnow() - self.last_used_at >= TOUCH_INTERVAL


@dataclass(frozen=True)
class NewKey:
    """A key just made: its row and the secret, which is never shown again."""

    row: ApiKey
    key: str


def hash_key(key: str) -> str:
    """The keyed hash stored in `api_keys.key_hash`."""
    return passwords.credential_hash(key, purpose=_HASH_PURPOSE)


def looks_like_key(value: str | None) -> bool:
    """Whether a Bearer value is shaped like one of our keys (not, say, the internal secret)."""
    return value is not None and value.startswith(KEY_PREFIX)


def scope_list(row: ApiKey) -> list[str]:
    """A key's scopes in the order of SCOPES."""
    held = set(row.scopes.split())
    return [s for s in SCOPES if s in held]


def status(row: ApiKey, *, now: datetime | None = None) -> str:
    """`revoked`, `expired` or `active`, in that order of precedence."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def clean_name(name: object) -> str:
    """A key's name, trimmed, or `ValidationFailed` naming `name`."""
    value = " ".join(name.split()) if isinstance(name, str) else ""
    if not value:
        raise ValidationFailed("key_name_required", "Give the key a name.", field="name")
    if len(value) > API_KEY_NAME_MAX_LENGTH:
        raise ValidationFailed(
            "key_name_too_long",
            f"Use at most {API_KEY_NAME_MAX_LENGTH} characters for the key's name.",
            field="name",
            max=API_KEY_NAME_MAX_LENGTH,
        )
    return value


def clean_scopes(scopes: object) -> list[str]:
    """A non-empty list of known scopes, or `ValidationFailed` naming `scopes`."""
    allowed = ", ".join(SCOPES)
    if (
        not isinstance(scopes, list)
        or not scopes
        or not all(isinstance(s, str) and s in SCOPES for s in scopes)
    ):
        raise ValidationFailed(
            "key_scopes_invalid",
            f"Choose one or more scopes from: {allowed}.",
            field="scopes",
            allowed=allowed,
        )
    return [s for s in SCOPES if s in scopes]


def clean_days(days: object) -> int:
    """Days until the key expires (default 90), or `ValidationFailed` naming `expires_in_days`."""
    if days is None:
        return DEFAULT_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise ValidationFailed(
            "key_days_invalid",
            f"`expires_in_days` must be a whole number from {MIN_DAYS} to {MAX_DAYS}.",
            field="expires_in_days",
            min=MIN_DAYS,
            max=MAX_DAYS,
        )
    return days


def _new_key() -> tuple[str, str]:
    prefix = KEY_PREFIX + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(_PREFIX_CHARS))
    return prefix, f"{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"


def create(
    session: Session,
    *,
    user_id: int,
    session_id: int,
    name: object,
    scopes: object,
    expires_in_days: object = None,
    ip: str = "",
    now: datetime | None = None,
) -> NewKey:
    """Make a key (needs a recent re-authentication); the secret is in the answer only."""
    sessions.require_reauth(session, session_id, user_id=user_id, now=now)
    clean = clean_name(name)
    chosen = clean_scopes(scopes)
    days = clean_days(expires_in_days)
    at = now or utcnow()
    prefix, key = _new_key()
    row = ApiKey(
        user_id=user_id,
        name=clean,
        prefix=prefix,
        key_hash=hash_key(key),
        scopes=" ".join(chosen),
        created_at=at,
        expires_at=at + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        action=Action.API_KEY_CREATED,
        actor_user_id=user_id,
        target=prefix,
        ip=ip,
        details={"key_id": row.id, "name": clean, "scopes": chosen, "days": days},
    )
    return NewKey(row=row, key=key)


def list_for(session: Session, *, user_id: int) -> list[ApiKey]:
    """The user's keys (revoked and expired ones too), newest first."""
    query = (
        select(ApiKey)
        .where(ApiKey.user_id == user_id)
        .order_by(col(ApiKey.created_at).desc(), col(ApiKey.id).desc())
    )
    return list(session.exec(query).all())


def revoke(session: Session, *, user_id: int, key_id: int, ip: str = "") -> ApiKey:
    """Revoke one of the user's keys (again is a no-op); another user's id is `NotFound`."""
    row = session.get(ApiKey, key_id)
    if row is None or row.user_id != user_id:
        raise NotFound
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
        audit.record(
            session,
            action=Action.API_KEY_REVOKED,
            actor_user_id=user_id,
            target=row.prefix,
            ip=ip,
            details={"key_id": row.id},
        )
    return row


def resolve(session: Session, *, key: str | None, now: datetime | None = None) -> KeyPrincipal:
    """Who a Bearer key acts for; `ApiKeyInvalid`, `ApiKeyRevoked` or `ApiKeyExpired` otherwise."""
    if not key or not looks_like_key(key) or len(key) > _MAX_KEY_LENGTH:
        raise ApiKeyInvalid
    found = session.exec(
        select(ApiKey, User)
        .join(User, col(User.id) == ApiKey.user_id)
        .where(ApiKey.key_hash == hash_key(key))
    ).first()
    if found is None:
        raise ApiKeyInvalid
    row, user = found
    if row.revoked_at is not None:
        raise ApiKeyRevoked
    if row.expires_at <= (now or utcnow()):
        raise ApiKeyExpired
    if not user.is_active:
        raise ApiKeyInvalid
    return KeyPrincipal(
        user_id=require_id(user.id),
        email=user.email,
        display_name=user.display_name,
        time_zone=user.time_zone,
        key_id=require_id(row.id),
        scopes=frozenset(row.scopes.split()),
        last_used_at=row.last_used_at,
    )


def touch(session: Session, *, key_id: int, ip: str = "") -> None:
    """Record a use of the key (time and address); the very first use is audited once."""
    now = utcnow()
    first = session.execute(
        update(ApiKey)
        .where(col(ApiKey.id) == key_id, col(ApiKey.last_used_at).is_(None))
        .values(last_used_at=now, last_used_ip=ip[:45])
    )
    if first.rowcount:  # type: ignore[attr-defined]
        row = session.get(ApiKey, key_id)
        audit.record(
            session,
            action=Action.API_KEY_FIRST_USED,
            actor_user_id=row.user_id if row else None,
            target=row.prefix if row else "",
            ip=ip,
            details={"key_id": key_id},
        )
        return
    session.execute(
        update(ApiKey)
        .where(col(ApiKey.id) == key_id)
        .values(last_used_at=now, last_used_ip=ip[:45])
    )
