"""Account security: re-authenticate, turn two-factor sign-in on and off, new recovery codes.

Each commits the outcome and only then raises the person's mistake, so a
wrong password or code is on record (and counts toward the sign-in throttle)
even though the action itself did not happen. The password hash (~0.1 s) is
verified before the write transaction opens, never inside it.
"""

from __future__ import annotations

from datetime import datetime

from imgapp.core import db
from imgapp.services import accounts, sessions, two_factor
from imgapp.services.errors import InvalidOtp


def reauthenticate(
    *,
    user_id: int,
    session_id: int,
    password: str,
    code: str | None = None,
    ip: str = "",
    now: datetime | None = None,
) -> datetime:
    """Mark the session re-authenticated for REAUTH_FOR; returns until when, or raises."""
    check = db.call_read(
        accounts.check_reauth, user_id=user_id, password=password, code=code, ip=ip, now=now
    )
    result = db.call(accounts.finish_reauth, check=check, session_id=session_id, ip=ip, now=now)
    if result.error is not None or result.until is None:
        raise result.error or InvalidOtp()
    return result.until


def start_two_factor(*, user_id: int) -> two_factor.Setup:
    """A new pending secret and its `otpauth://` URI for the authenticator app."""
    return db.call(two_factor.start_setup, user_id=user_id)


def enable_two_factor(
    *, user_id: int, code: str, ip: str = "", now: datetime | None = None
) -> list[str]:
    """Turn 2FA on with a code of the pending secret; the 10 recovery codes, shown once."""
    try:
        return db.call(two_factor.enable, user_id=user_id, code=code, ip=ip, now=now)
    except InvalidOtp:
        db.call(two_factor.record_failure, user_id=user_id, during="enable", ip=ip)
        raise


def disable_two_factor(
    *,
    user_id: int,
    session_id: int,
    password: str = "",
    code: str | None = None,
    ip: str = "",
    now: datetime | None = None,
) -> None:
    """Turn 2FA off; a password (and code) here re-authenticate first, else it must be recent."""
    if password or code:
        reauthenticate(
            user_id=user_id, session_id=session_id, password=password, code=code, ip=ip, now=now
        )
    db.call(two_factor.disable, user_id=user_id, session_id=session_id, ip=ip)


def regenerate_recovery_codes(*, user_id: int, session_id: int, ip: str = "") -> list[str]:
    """Ten new recovery codes (needs a recent re-authentication); the old ones stop working."""
    return db.call(
        two_factor.regenerate_recovery_codes, user_id=user_id, session_id=session_id, ip=ip
    )


def reauthenticated_until(*, user_id: int, session_id: int) -> datetime | None:
    """Until when the session may do sensitive things without asking again (None: ask now)."""
    return db.call_read(sessions.reauth_until, session_id, user_id=user_id)
