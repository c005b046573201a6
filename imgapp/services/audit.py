"""The audit trail: append events, count recent ones, list a user's own."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, literal
from sqlmodel import Session, col, select

from imgapp.models import AuditLog
from imgapp.models.base import utcnow


class Action(StrEnum):
    """Every audited action, by name."""

    REGISTER = "register"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    LOGOUT = "logout"
    SESSION_REVOKED = "session_revoked"
    OTHER_SESSIONS_REVOKED = "other_sessions_revoked"
    NEW_DEVICE_SIGN_IN = "new_device_sign_in"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an action name
    PROFILE_UPDATED = "profile_updated"
    EMAIL_CHANGED = "email_changed"
    TIME_ZONE_CHANGED = "time_zone_changed"
    REAUTHENTICATED = "reauthenticated"
    TWO_FACTOR_ENABLED = "two_factor_enabled"
    TWO_FACTOR_DISABLED = "two_factor_disabled"
    TWO_FACTOR_FAILED = "two_factor_failed"  # a wrong or reused code (details: during)
    RECOVERY_CODE_USED = "recovery_code_used"
    RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
    API_KEY_CREATED = "api_key_created"
    API_KEY_FIRST_USED = "api_key_first_used"
    API_KEY_REVOKED = "api_key_revoked"
    WEBHOOK_SECRET_ROTATED = "webhook_secret_rotated"  # noqa: S105 - an action name
    CREDITS_CHARGED = "credits_charged"
    CREDITS_RECHARGED = "credits_recharged"
    CREDITS_REFUNDED = "credits_refunded"
    CREDITS_REWARDED = "credits_rewarded"
    CREDITS_ADJUSTED = "credits_adjusted"
    PAYMENT_CREATED = "payment_created"
    PAYMENT_REFUSED = "payment_refused"  # the gateway would not take the order
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_LATE = "payment_late"  # paid after the order had expired: honoured
    PAYMENT_EXPIRED = "payment_expired"
    NOTIFICATION_REJECTED = "notification_rejected"  # forged, unknown order, wrong amount
    INVITE_BOUND = "invite_bound"
    INVITE_REWARDED = "invite_rewarded"
    INVITE_HELD = "invite_held"
    INVITE_RELEASED = "invite_released"
    INVITE_REJECTED = "invite_rejected"


_INSERT = insert(AuditLog.__table__)  # type: ignore[arg-type] - built once, run often


def record(
    session: Session,
    *,
    action: Action,
    actor_user_id: int | None = None,
    target: str = "",
    ip: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit event (committed by the caller's transaction)."""
    session.execute(
        _INSERT,
        {
            "action": action.value,
            "actor_user_id": actor_user_id,
            "target": target[:255],
            "ip": ip[:45],
            "details": details or {},
            "created_at": utcnow(),
        },
    )


def count_since(
    session: Session,
    *,
    action: Action,
    since: datetime,
    target: str | None = None,
    ip: str | None = None,
) -> tuple[int, datetime | None]:
    """How many `action` events since `since` (by target or ip), and the oldest one's time."""
    # The action is inlined so PostgreSQL can match the partial throttle indexes.
    query = select(func.count(), func.min(AuditLog.created_at)).where(
        col(AuditLog.action) == literal(action.value, literal_execute=True),
        col(AuditLog.created_at) >= since,
    )
    if target is not None:
        query = query.where(AuditLog.target == target)
    if ip is not None:
        query = query.where(AuditLog.ip == ip)
    count, oldest = session.exec(query).one()
    return int(count), oldest


def for_user(session: Session, *, user_id: int, limit: int = 50) -> list[AuditLog]:
    """The user's own audit events, newest first."""
    query = (
        select(AuditLog)
        .where(AuditLog.actor_user_id == user_id)
        .order_by(col(AuditLog.created_at).desc(), col(AuditLog.id).desc())
        .limit(limit)
    )
    return list(session.exec(query).all())
