"""Two-factor sign-in: TOTP setup and codes (pyotp), single-use recovery codes.

A code is checked in two halves like a password: `check_code` reads (which
time step or which recovery code matches) and `consume` writes, claiming the
step or the recovery code with one conditional UPDATE, so a code accepted once
is refused the second time even when both attempts race. TOTP codes of the
previous, current and next 30-second step are accepted (clock drift), and a
step at or before the last accepted one never is.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from imgapp.models import RecoveryCode, User
from imgapp.models.base import utcnow
from imgapp.services import audit, passwords, sessions
from imgapp.services.audit import Action
from imgapp.services.errors import (
    InvalidOtp,
    NotFound,
    TwoFactorAlreadyOn,
    TwoFactorOff,
    ValidationFailed,
)

ISSUER = "imgapp"
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_RECOVERY_HALF = 5
_TOTP_RE = re.compile(r"^\d{6}$")
_HASH_PURPOSE = "recovery-code"


@dataclass(frozen=True)
class Setup:
    """A secret being set up: for the authenticator app, by hand or as a QR code of the URI."""

    secret: str
    otpauth_uri: str


@dataclass(frozen=True)
class Status:
    """Whether two-factor sign-in is on, since when, and how many recovery codes are unused."""

    enabled: bool
    enabled_at: datetime | None
    codes_left: int


@dataclass(frozen=True)
class CodeProof:
    """What a correct code matched: a TOTP time step or one unused recovery code."""

    step: int | None = None
    recovery_code_id: int | None = None


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound
    return user


def _at(now: datetime | None) -> datetime:
    return now or utcnow()


def _clean(code: str | None) -> str:
    return "".join((code or "").split())


def normalize_recovery_code(code: str) -> str:
    """The form a recovery code is hashed in: lower case, no spaces or dashes."""
    return _clean(code).replace("-", "").lower()


def _hash_recovery_code(code: str) -> str:
    return passwords.credential_hash(normalize_recovery_code(code), purpose=_HASH_PURPOSE)


def _new_recovery_code() -> str:
    chars = [secrets.choice(_RECOVERY_ALPHABET) for _ in range(2 * _RECOVERY_HALF)]
    return "".join(chars[:_RECOVERY_HALF]) + "-" + "".join(chars[_RECOVERY_HALF:])


def is_enabled(session: Session, *, user_id: int) -> bool:
    """Whether the user signs in with a code as well as the password."""
    return _user(session, user_id).two_factor_enabled


def recovery_codes_left(session: Session, *, user_id: int) -> int:
    """How many of the user's recovery codes are still unused."""
    query = select(func.count()).where(
        RecoveryCode.user_id == user_id, col(RecoveryCode.used_at).is_(None)
    )
    return int(session.exec(query).one())


def status(session: Session, *, user_id: int) -> Status:
    """The user's two-factor sign-in as the security page shows it."""
    user = _user(session, user_id)
    if not user.two_factor_enabled:
        return Status(enabled=False, enabled_at=None, codes_left=0)
    return Status(
        enabled=True,
        enabled_at=user.totp_enabled_at,
        codes_left=recovery_codes_left(session, user_id=user_id),
    )


def matching_step(secret: str, code: str, *, now: datetime | None = None) -> int | None:
    """The time step (previous, current or next) whose TOTP code is `code`, else None."""
    clean = _clean(code)
    if not _TOTP_RE.match(clean):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(_at(now))
    found = None
    for step in (current - 1, current, current + 1):  # all three, so timing tells nothing
        if hmac.compare_digest(totp.generate_otp(step), clean):
            found = step
    return found


def start_setup(session: Session, *, user_id: int) -> Setup:
    """Make a new pending secret (replacing an unconfirmed one); not active until `enable`."""
    user = _user(session, user_id)
    if user.two_factor_enabled:
        raise TwoFactorAlreadyOn
    secret = pyotp.random_base32()
    user.totp_pending_secret = secret
    session.add(user)
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Setup(secret=secret, otpauth_uri=uri)


def _replace_recovery_codes(session: Session, *, user_id: int) -> list[str]:
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    now = utcnow()
    session.add_all(
        RecoveryCode(user_id=user_id, code_hash=_hash_recovery_code(c), created_at=now)
        for c in codes
    )
    session.flush()
    return codes


def enable(
    session: Session, *, user_id: int, code: str, ip: str = "", now: datetime | None = None
) -> list[str]:
    """Turn two-factor sign-in on with a code of the pending secret; returns 10 recovery codes.

    A wrong code raises `InvalidOtp` and changes nothing (the caller records
    the failure in a transaction of its own, see `flows/security`).
    """
    user = _user(session, user_id)
    if user.two_factor_enabled:
        raise TwoFactorAlreadyOn
    if not user.totp_pending_secret:
        raise ValidationFailed(
            "two_factor_not_started",
            "Start the two-factor setup first, then enter a code from your app.",
            field="code",
        )
    step = matching_step(user.totp_pending_secret, code, now=now)
    if step is None:
        raise InvalidOtp
    at = _at(now)
    user.totp_secret = user.totp_pending_secret
    user.totp_pending_secret = None
    user.totp_enabled_at = at
    user.totp_last_step = step  # the code that enabled it cannot sign in too
    user.updated_at = at
    session.add(user)
    session.flush()
    codes = _replace_recovery_codes(session, user_id=user_id)
    audit.record(session, action=Action.TWO_FACTOR_ENABLED, actor_user_id=user_id, ip=ip)
    return codes


def check_code(
    session: Session, *, user: User, code: str | None, now: datetime | None = None
) -> CodeProof | None:
    """What a code proves for a user with 2FA on (reads only), or None when it proves nothing."""
    if not user.totp_secret or not _clean(code):
        return None
    clean = _clean(code)
    if _TOTP_RE.match(clean):
        step = matching_step(user.totp_secret, clean, now=now)
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            return None
        return CodeProof(step=step)
    found = session.exec(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_recovery_code(clean),
            col(RecoveryCode.used_at).is_(None),
        )
    ).first()
    return CodeProof(recovery_code_id=found) if found is not None else None


def consume(
    session: Session,
    *,
    user_id: int,
    proof: CodeProof,
    ip: str = "",
    now: datetime | None = None,
) -> bool:
    """Use up what `check_code` found; False when another request used it first."""
    at = _at(now)
    if proof.step is not None:
        claimed = session.execute(
            update(User)
            .where(
                col(User.id) == user_id,
                col(User.totp_secret).is_not(None),
                or_(col(User.totp_last_step).is_(None), col(User.totp_last_step) < proof.step),
            )
            .values(totp_last_step=proof.step)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]
    if proof.recovery_code_id is None:
        return False
    claimed = session.execute(
        update(RecoveryCode)
        .where(
            col(RecoveryCode.id) == proof.recovery_code_id,
            col(RecoveryCode.user_id) == user_id,
            col(RecoveryCode.used_at).is_(None),
        )
        .values(used_at=at)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record(
        session,
        action=Action.RECOVERY_CODE_USED,
        actor_user_id=user_id,
        ip=ip,
        details={"left": recovery_codes_left(session, user_id=user_id)},
    )
    return True


def record_failure(
    session: Session,
    *,
    user_id: int,
    during: str,
    ip: str = "",
    throttled_as: str | None = None,
) -> None:
    """Audit a wrong or reused code; with `throttled_as` (an email) it counts as a failed sign-in.

    The sign-in throttle counts `login_failed` events by email and by address,
    so a wrong code costs a guesser exactly what a wrong password does.
    """
    audit.record(
        session,
        action=Action.TWO_FACTOR_FAILED,
        actor_user_id=user_id,
        ip=ip,
        details={"during": during},
    )
    if throttled_as is not None:
        audit.record(
            session,
            action=Action.LOGIN_FAILED,
            target=throttled_as,
            ip=ip,
            details={"reason": "two_factor", "during": during},
        )


def disable(session: Session, *, user_id: int, session_id: int, ip: str = "") -> None:
    """Turn two-factor sign-in off (needs a recent re-authentication); recovery codes go too."""
    sessions.require_reauth(session, session_id, user_id=user_id)
    user = _user(session, user_id)
    if not user.two_factor_enabled:
        raise TwoFactorOff
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_enabled_at = None
    user.updated_at = utcnow()
    session.add(user)
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    session.flush()
    audit.record(session, action=Action.TWO_FACTOR_DISABLED, actor_user_id=user_id, ip=ip)


def regenerate_recovery_codes(
    session: Session, *, user_id: int, session_id: int, ip: str = ""
) -> list[str]:
    """Ten new recovery codes (needs a recent re-authentication); the old ones stop working."""
    sessions.require_reauth(session, session_id, user_id=user_id)
    if not _user(session, user_id).two_factor_enabled:
        raise TwoFactorOff
    codes = _replace_recovery_codes(session, user_id=user_id)
    audit.record(session, action=Action.RECOVERY_CODES_REGENERATED, actor_user_id=user_id, ip=ip)
    return codes
