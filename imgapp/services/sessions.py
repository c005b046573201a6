"""Sign-in sessions: random tokens, stored as keyed hashes, revocable.

The browser holds the token in an HttpOnly cookie; the database holds only
HMAC-SHA256(SESSION_SECRET, token), so a copy of the table signs nobody in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookies import CookieError, SimpleCookie

from sqlalchemy import update
from sqlmodel import Session, col, select

from imgapp.core.settings import get_settings
from imgapp.models import User, UserSession
from imgapp.models.base import require_id, utcnow
from imgapp.services import audit
from imgapp.services.audit import Action
from imgapp.services.errors import NotFound, NotSignedIn, ReauthRequired

COOKIE_NAME = "imgapp_session"
_TOKEN_BYTES = 32
# last_seen_at is rewritten at most this often per session, not on every request.
TOUCH_INTERVAL = timedelta(seconds=60)
# How long a re-authentication (password, and code with 2FA) opens sensitive actions.
REAUTH_FOR = timedelta(minutes=10)


@dataclass(frozen=True)
class Principal:
    """Who a valid session belongs to."""

    user_id: int
    email: str
    display_name: str
    session_id: int
    last_seen_at: datetime
    time_zone: str = ""  # an IANA name, or "" for the site's IMGAPP_TIMEZONE

    @property
    def needs_touch(self) -> bool:
        """Whether last_seen_at is stale enough to be rewritten."""
        return utcnow() - self.last_seen_at >= TOUCH_INTERVAL


def hash_token(token: str) -> str:
    """The keyed hash stored in `user_sessions.token_hash`."""
    key = get_settings().session_secret.get_secret_value().encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def token_from_cookie_header(header: str) -> str | None:
    """Pull the session token out of a raw `Cookie:` header."""
    if not header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel and morsel.value else None


def create(session: Session, *, user_id: int, ip: str, user_agent: str) -> tuple[str, UserSession]:
    """Open a session for the user; returns the raw token (shown once) and the row."""
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    now = utcnow()
    row = UserSession(
        user_id=user_id,
        token_hash=hash_token(token),
        ip=ip[:45],
        user_agent=user_agent[:512],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=get_settings().session_max_age_days),
    )
    session.add(row)
    session.flush()
    return token, row


def resolve(session: Session, *, token: str | None) -> Principal | None:
    """The principal for a token, or None if unknown, revoked, expired or disabled."""
    if not token or len(token) > 128:  # noqa: PLR2004 - tokens are 43 chars
        return None
    query = (
        select(UserSession, User)
        .join(User, col(User.id) == UserSession.user_id)
        .where(
            UserSession.token_hash == hash_token(token),
            col(UserSession.revoked_at).is_(None),
            col(UserSession.expires_at) > utcnow(),
            col(User.is_active).is_(True),
        )
    )
    found = session.exec(query).first()
    if found is None:
        return None
    row, user = found
    return Principal(
        user_id=require_id(user.id),
        email=user.email,
        display_name=user.display_name,
        session_id=require_id(row.id),
        last_seen_at=row.last_seen_at,
        time_zone=user.time_zone,
    )


def touch(session: Session, *, session_id: int, ip: str | None = None) -> None:
    """Record activity on a session (and its latest address)."""
    values: dict[str, object] = {"last_seen_at": utcnow()}
    if ip:
        values["ip"] = ip[:45]
    session.execute(update(UserSession).where(col(UserSession.id) == session_id).values(**values))


def revoke_token(session: Session, *, token: str | None, ip: str = "") -> bool:
    """Sign out the session holding `token`; False if there was none."""
    if not token:
        return False
    row = session.exec(
        select(UserSession).where(
            UserSession.token_hash == hash_token(token),
            col(UserSession.revoked_at).is_(None),
        )
    ).first()
    if row is None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    audit.record(
        session,
        action=Action.LOGOUT,
        actor_user_id=row.user_id,
        target=str(row.id),
        ip=ip,
        details={"session_id": row.id},
    )
    return True


def revoke(
    session: Session,
    *,
    user_id: int,
    session_id: int,
    ip: str = "",
    acting_session_id: int | None = None,
) -> UserSession:
    """Revoke one of the user's own sessions; another user's id is `NotFound`.

    `acting_session_id` is the session that asked (the audit log shows its device).
    """
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != user_id:
        raise NotFound
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        details = {"session_id": acting_session_id} if acting_session_id else None
        audit.record(
            session,
            action=Action.SESSION_REVOKED,
            actor_user_id=user_id,
            target=str(session_id),
            ip=ip,
            details=details,
        )
    session.flush()
    return row


def list_active(session: Session, *, user_id: int) -> list[UserSession]:
    """The user's sessions that can still be used, most recently seen first."""
    query = (
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            col(UserSession.revoked_at).is_(None),
            col(UserSession.expires_at) > utcnow(),
        )
        .order_by(col(UserSession.last_seen_at).desc())
    )
    return list(session.exec(query).all())


def ended_among(session: Session, *, session_ids: list[int]) -> list[int]:
    """Which of these sessions can no longer be used (revoked or expired)."""
    if not session_ids:
        return []
    query = select(UserSession.id).where(
        col(UserSession.id).in_(session_ids),
        col(UserSession.revoked_at).is_not(None) | (col(UserSession.expires_at) <= utcnow()),
    )
    return sorted(int(found) for found in session.exec(query).all() if found is not None)


def end_others(session: Session, *, user_id: int, keep_session_id: int) -> list[int]:
    """Revoke every live session of the user except one; the ids of those that ended."""
    result = session.execute(
        update(UserSession)
        .where(
            col(UserSession.user_id) == user_id,
            col(UserSession.id) != keep_session_id,
            col(UserSession.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
        .returning(UserSession.id)  # type: ignore[arg-type]
    )
    return sorted(int(found) for found in result.scalars())


def sign_out_others(
    session: Session, *, user_id: int, keep_session_id: int, ip: str = ""
) -> list[int]:
    """The person's "sign out everywhere else": `end_others`, audited; the ended ids."""
    ended = end_others(session, user_id=user_id, keep_session_id=keep_session_id)
    audit.record(
        session,
        action=Action.OTHER_SESSIONS_REVOKED,
        actor_user_id=user_id,
        target=str(keep_session_id),
        ip=ip,
        details={"session_id": keep_session_id, "revoked": ended, "count": len(ended)},
    )
    return ended


def mark_reauthenticated(
    session: Session, *, user_id: int, session_id: int, now: datetime | None = None
) -> datetime:
    """Record that the person just proved it was them on this session; returns until when."""
    at = now or utcnow()
    result = session.execute(
        update(UserSession)
        .where(
            col(UserSession.id) == session_id,
            col(UserSession.user_id) == user_id,
            col(UserSession.revoked_at).is_(None),
        )
        .values(reauth_at=at)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotSignedIn
    return at + REAUTH_FOR


def reauth_until(
    session: Session, session_id: int, *, user_id: int | None = None, now: datetime | None = None
) -> datetime | None:
    """Until when the session counts as re-authenticated, or None if it does not now."""
    query = select(UserSession.reauth_at).where(
        UserSession.id == session_id, col(UserSession.revoked_at).is_(None)
    )
    if user_id is not None:
        query = query.where(UserSession.user_id == user_id)
    at = session.exec(query).first()
    if at is None:
        return None
    until = at + REAUTH_FOR
    return until if until > (now or utcnow()) else None


def reauthenticated(
    session: Session, session_id: int, *, user_id: int | None = None, now: datetime | None = None
) -> bool:
    """Whether the session re-authenticated within the last REAUTH_FOR."""
    return reauth_until(session, session_id, user_id=user_id, now=now) is not None


def require_reauth(
    session: Session, session_id: int, *, user_id: int | None = None, now: datetime | None = None
) -> None:
    """Raise `ReauthRequired` unless the session re-authenticated within the last REAUTH_FOR."""
    if not reauthenticated(session, session_id, user_id=user_id, now=now):
        raise ReauthRequired
