"""Accounts: registration, sign-in with throttling, profile lookups and changes.

Password hashing costs ~0.1 s, so it never runs inside a write transaction:
`prepare_registration` hashes before `register` writes, and sign-in is a
read (`check_sign_in`, which verifies) followed by a write (`finish_sign_in`,
which records the outcome). `finish_sign_in` returns the error instead of
raising it, so the failed attempt is committed before the caller raises.
With two-factor sign-in on, the check also needs a code (`otp`): without one
it answers `OtpRequired` and records nothing; a wrong one counts as a failed
sign-in. Re-authentication (`check_reauth` / `finish_reauth`) follows the same
two halves and the same throttle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from imgapp.core.settings import get_settings
from imgapp.models import AuditLog, User
from imgapp.models.base import require_id, utcnow
from imgapp.models.user import DISPLAY_NAME_MAX_LENGTH, EMAIL_MAX_LENGTH
from imgapp.services import audit, invites, ledger, passwords, sessions, two_factor, usage
from imgapp.services.audit import Action
from imgapp.services.errors import (
    EmailTaken,
    ImgappError,
    InvalidCredentials,
    InvalidOtp,
    NotFound,
    OtpRequired,
    SignInOtpInvalid,
    TooManyAttempts,
    TooManySignups,
    ValidationFailed,
    WrongPassword,
)
from imgapp.services.two_factor import CodeProof

# Deliberately simple: one @, a dot in the domain, no spaces. Delivery proves the rest.
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    """Trim and lower-case an email, or raise `ValidationFailed`."""
    value = (email or "").strip().lower()
    if not value:
        raise ValidationFailed("email_required", "Enter your email address.", field="email")
    if len(value) > EMAIL_MAX_LENGTH or not _EMAIL_RE.match(value):
        raise ValidationFailed(
            "email_invalid",
            "Enter a valid email address, like name@example.com.",
            field="email",
        )
    return value


def clean_display_name(name: str) -> str:
    """Trim a display name, or raise `ValidationFailed` when it is too long."""
    value = " ".join((name or "").split())
    if len(value) > DISPLAY_NAME_MAX_LENGTH:
        raise ValidationFailed(
            "display_name_too_long",
            f"Use at most {DISPLAY_NAME_MAX_LENGTH} characters for the display name.",
            field="display_name",
            max=DISPLAY_NAME_MAX_LENGTH,
        )
    return value


@dataclass(frozen=True)
class NewAccount:
    """A validated registration with its password already hashed."""

    email: str
    password_hash: str
    display_name: str


def prepare_registration(*, email: str, password: str, display_name: str = "") -> NewAccount:
    """Validate the form and hash the password (no database)."""
    clean_email = normalize_email(email)
    passwords.check_policy(password)
    return NewAccount(
        email=clean_email,
        password_hash=passwords.hash_password(password),
        display_name=clean_display_name(display_name),
    )


def register(
    session: Session, *, account: NewAccount, ip: str = "", user_agent: str = ""
) -> tuple[User, str]:
    """Create the user and sign them in; returns the user and the session token.

    `TooManySignups` once SIGNUP_LIMIT_PER_IP_PER_HOUR accounts came from `ip`
    within the hour (the limit that stops mass fake sign-ups for invite rewards).
    """
    if session.exec(select(User.id).where(User.email == account.email)).first() is not None:
        raise EmailTaken
    if ip and (throttled := _signup_throttle(session, ip=ip)) is not None:
        raise throttled
    user = User(
        email=account.email,
        password_hash=account.password_hash,
        display_name=account.display_name,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won
        raise EmailTaken from exc
    ledger.open_account(session, user_id=require_id(user.id))
    invites.give_code(session, user=user)
    token, _ = sessions.create(session, user_id=require_id(user.id), ip=ip, user_agent=user_agent)
    audit.record(session, action=Action.REGISTER, actor_user_id=user.id, target=user.email, ip=ip)
    return user, token


def _signup_throttle(session: Session, *, ip: str) -> TooManySignups | None:
    limit = get_settings().signup_limit_per_ip_per_hour
    if not limit:
        return None
    window = timedelta(hours=1)
    now = utcnow()
    count, oldest = session.execute(
        select(func.count(), func.min(AuditLog.created_at)).where(
            col(AuditLog.action) == Action.REGISTER.value,
            col(AuditLog.ip) == ip,
            col(AuditLog.created_at) > now - window,
        )
    ).one()
    if count >= limit and oldest is not None:
        return TooManySignups(retry_after=max(1, int((oldest + window - now).total_seconds())))
    return None


@dataclass(frozen=True)
class SignInCheck:
    """What the read-only half of a sign-in found."""

    email: str
    user_id: int | None
    error: ImgappError | None
    rehash: str | None = None
    proof: CodeProof | None = None  # what the 2FA code matched, to be used up when finishing


def _throttle(session: Session, *, email: str, ip: str) -> TooManyAttempts | None:
    settings = get_settings()
    window = timedelta(minutes=settings.login_failure_window_minutes)
    now = utcnow()
    limits = (
        ({"target": email}, settings.login_max_failures_per_account),
        ({"ip": ip}, settings.login_max_failures_per_ip),
    )
    for scope, limit in limits:
        count, oldest = audit.count_since(
            session, action=Action.LOGIN_FAILED, since=now - window, **scope
        )
        if count >= limit and oldest is not None:
            return TooManyAttempts(retry_after=max(1, int((oldest + window - now).total_seconds())))
    return None


def _second_factor(
    session: Session, *, user: User, otp: str | None, now: datetime | None
) -> tuple[ImgappError | None, CodeProof | None]:
    """(error, proof) of the sign-in code: nothing is needed without 2FA."""
    if not user.two_factor_enabled:
        return None, None
    if not (otp or "").strip():
        return OtpRequired(), None
    proof = two_factor.check_code(session, user=user, code=otp, now=now)
    return (SignInOtpInvalid(), None) if proof is None else (None, proof)


def check_sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    ip: str,
    otp: str | None = None,
    now: datetime | None = None,
) -> SignInCheck:
    """Validate, apply the throttle, verify the password (and the 2FA code). Reads only."""
    try:
        clean = normalize_email(email)
    except ValidationFailed as exc:
        return SignInCheck(email=(email or "").strip().lower(), user_id=None, error=exc)
    if not password:
        error = ValidationFailed("password_required", "Enter your password.", field="password")
        return SignInCheck(email=clean, user_id=None, error=error)
    if throttled := _throttle(session, email=clean, ip=ip):
        return SignInCheck(email=clean, user_id=None, error=throttled)
    user = session.exec(select(User).where(User.email == clean)).first()
    ok = passwords.verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        return SignInCheck(email=clean, user_id=None, error=InvalidCredentials())
    error, proof = _second_factor(session, user=user, otp=otp, now=now)
    if error is not None:
        return SignInCheck(email=clean, user_id=user.id, error=error)
    rehash = (
        passwords.hash_password(password) if passwords.needs_rehash(user.password_hash) else None
    )
    return SignInCheck(email=clean, user_id=user.id, error=None, rehash=rehash, proof=proof)


@dataclass(frozen=True)
class SignInResult:
    """The outcome of a sign-in: a token for the cookie, or the error to show."""

    user: User | None
    token: str | None
    error: ImgappError | None


def finish_sign_in(
    session: Session, *, check: SignInCheck, ip: str = "", user_agent: str = ""
) -> SignInResult:
    """Record the attempt; on success open a session. Never raises the sign-in error."""
    if check.error is not None:
        failed = {TooManyAttempts: Action.LOGIN_THROTTLED, InvalidCredentials: Action.LOGIN_FAILED}
        action = next((a for cls, a in failed.items() if isinstance(check.error, cls)), None)
        if action is not None:
            # The account's own log shows attempts on it (the throttle counts by email and IP).
            owner = session.exec(select(User.id).where(User.email == check.email)).first()
            audit.record(session, action=action, actor_user_id=owner, target=check.email, ip=ip)
        elif isinstance(check.error, InvalidOtp) and check.user_id is not None:
            two_factor.record_failure(
                session, user_id=check.user_id, during="sign_in", ip=ip, throttled_as=check.email
            )
        return SignInResult(user=None, token=None, error=check.error)
    user = session.get(User, check.user_id)
    if user is None or not user.is_active:
        return SignInResult(user=None, token=None, error=InvalidCredentials())
    if user.two_factor_enabled and check.proof is None:  # turned on since the check
        return SignInResult(user=None, token=None, error=OtpRequired())
    if check.proof is not None and not two_factor.consume(
        session, user_id=require_id(user.id), proof=check.proof, ip=ip
    ):  # the same code was used a moment ago
        two_factor.record_failure(
            session, user_id=require_id(user.id), during="sign_in", ip=ip, throttled_as=user.email
        )
        return SignInResult(user=None, token=None, error=SignInOtpInvalid())
    if check.rehash:
        user.password_hash = check.rehash
        session.add(user)
    token, row = sessions.create(session, user_id=require_id(user.id), ip=ip, user_agent=user_agent)
    audit.record(
        session,
        action=Action.LOGIN,
        actor_user_id=user.id,
        target=user.email,
        ip=ip,
        details={"session_id": row.id},
    )
    return SignInResult(user=user, token=token, error=None)


def get_user(session: Session, *, user_id: int) -> User:
    """The user by id, or `NotFound`."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound
    return user


def user_by_email(session: Session, *, email: str) -> User:
    """The user with this email (any case), or `NotFound`."""
    user = session.exec(select(User).where(User.email == normalize_email(email))).first()
    if user is None:
        raise NotFound
    return user


@dataclass(frozen=True)
class ReauthCheck:
    """What the read-only half of a re-authentication found."""

    user_id: int
    email: str
    error: ImgappError | None
    proof: CodeProof | None = None


def check_reauth(
    session: Session,
    *,
    user_id: int,
    password: str,
    code: str | None = None,
    ip: str = "",
    now: datetime | None = None,
) -> ReauthCheck:
    """Throttle, then verify the password and, with 2FA on, the code. Reads only (slow hash)."""
    user = get_user(session, user_id=user_id)

    def found(error: ImgappError | None, proof: CodeProof | None = None) -> ReauthCheck:
        return ReauthCheck(user_id=user_id, email=user.email, error=error, proof=proof)

    if throttled := _throttle(session, email=user.email, ip=ip):
        return found(throttled)
    if not password:
        required = ValidationFailed("password_required", "Enter your password.", field="password")
        return found(required)
    if not passwords.verify_password(password, user.password_hash):
        return found(WrongPassword())
    if not user.two_factor_enabled:
        return found(None)
    if not (code or "").strip():
        return found(OtpRequired())
    proof = two_factor.check_code(session, user=user, code=code, now=now)
    return found(None if proof else InvalidOtp(), proof)


@dataclass(frozen=True)
class ReauthResult:
    """Until when the session is re-authenticated, or the error to show."""

    until: datetime | None
    error: ImgappError | None


def finish_reauth(
    session: Session,
    *,
    check: ReauthCheck,
    session_id: int,
    ip: str = "",
    now: datetime | None = None,
) -> ReauthResult:
    """Record the attempt; on success mark the session. Never raises the attempt's error.

    A wrong password or code counts as a failed sign-in of the account (the
    same throttle), so a stolen session cannot be used to guess them.
    """
    error = check.error
    if isinstance(error, TooManyAttempts):
        audit.record(session, action=Action.LOGIN_THROTTLED, target=check.email, ip=ip)
    elif isinstance(error, WrongPassword):
        audit.record(
            session,
            action=Action.LOGIN_FAILED,
            target=check.email,
            ip=ip,
            details={"during": "reauth"},
        )
    elif isinstance(error, InvalidOtp):
        two_factor.record_failure(
            session, user_id=check.user_id, during="reauth", ip=ip, throttled_as=check.email
        )
    if error is not None:
        return ReauthResult(until=None, error=error)
    user = get_user(session, user_id=check.user_id)
    if user.two_factor_enabled and check.proof is None:  # turned on since the check
        return ReauthResult(until=None, error=OtpRequired())
    if check.proof is not None and not two_factor.consume(
        session, user_id=check.user_id, proof=check.proof, ip=ip, now=now
    ):
        two_factor.record_failure(
            session, user_id=check.user_id, during="reauth", ip=ip, throttled_as=check.email
        )
        return ReauthResult(until=None, error=InvalidOtp())
    until = sessions.mark_reauthenticated(
        session, user_id=check.user_id, session_id=session_id, now=now
    )
    audit.record(
        session,
        action=Action.REAUTHENTICATED,
        actor_user_id=check.user_id,
        ip=ip,
        details={"session_id": session_id},
    )
    return ReauthResult(until=until, error=None)


def check_password(session: Session, *, user_id: int, password: str) -> None:
    """Raise `InvalidCredentials` unless `password` is the user's. Reads only (slow hash)."""
    user = session.get(User, user_id)
    if not passwords.verify_password(password or "", user.password_hash if user else None):
        raise WrongPassword


def update_profile(session: Session, *, user_id: int, display_name: str, ip: str = "") -> User:
    """Change what the user is called."""
    user = get_user(session, user_id=user_id)
    user.display_name = clean_display_name(display_name)
    user.updated_at = utcnow()
    session.add(user)
    audit.record(session, action=Action.PROFILE_UPDATED, actor_user_id=user_id, ip=ip)
    return user


def set_time_zone(session: Session, *, user_id: int, time_zone: str, ip: str = "") -> User:
    """Choose the zone the user's dates and reports are in; "" follows the site's."""
    user = get_user(session, user_id=user_id)
    name = (time_zone or "").strip()
    if name:
        name = usage.check_zone(name, field_name="time_zone").key
    old = user.time_zone
    if name == old:
        return user
    user.time_zone = name
    user.updated_at = utcnow()
    session.add(user)
    audit.record(
        session,
        action=Action.TIME_ZONE_CHANGED,
        actor_user_id=user_id,
        target=name,
        ip=ip,
        details={"from": old, "to": name},
    )
    return user


def change_email(
    session: Session, *, user_id: int, session_id: int, new_email: str, ip: str = ""
) -> User:
    """Move the account to another address; the session must have re-authenticated just now."""
    sessions.require_reauth(session, session_id, user_id=user_id)
    user = get_user(session, user_id=user_id)
    clean = normalize_email(new_email)
    if clean == user.email:
        raise ValidationFailed(
            "email_unchanged", "That is already your email address.", field="email"
        )
    taken = session.exec(select(User.id).where(User.email == clean)).first()
    if taken is not None:
        raise EmailTaken
    old = user.email
    user.email = clean
    user.updated_at = utcnow()
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # taken concurrently
        raise EmailTaken from exc
    audit.record(
        session,
        action=Action.EMAIL_CHANGED,
        actor_user_id=user_id,
        target=clean,
        ip=ip,
        details={"from": old, "to": clean},
    )
    return user


def change_password(
    session: Session, *, user_id: int, new_hash: str, keep_session_id: int, ip: str = ""
) -> list[int]:
    """Store a new password hash and sign out every other session; the ids that ended."""
    user = get_user(session, user_id=user_id)
    now = utcnow()
    user.password_hash = new_hash
    user.password_changed_at = now
    user.updated_at = now
    session.add(user)
    ended = sessions.end_others(session, user_id=user_id, keep_session_id=keep_session_id)
    audit.record(
        session,
        action=Action.PASSWORD_CHANGED,
        actor_user_id=user_id,
        ip=ip,
        details={"other_sessions_ended": len(ended), "session_id": keep_session_id},
    )
    return ended
