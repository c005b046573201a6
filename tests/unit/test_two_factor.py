"""Two-factor sign-in, recovery codes and re-authentication, through the services and flows."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlmodel import func, select

from imgapp.core import db
from imgapp.flows import security
from imgapp.models import AuditLog, RecoveryCode, User, UserSession
from imgapp.models.base import utcnow
from imgapp.services import accounts, sessions, two_factor
from imgapp.services.audit import Action
from imgapp.services.errors import (
    InvalidOtp,
    OtpRequired,
    ReauthRequired,
    TooManyAttempts,
    TwoFactorAlreadyOn,
    TwoFactorOff,
    ValidationFailed,
    WrongPassword,
)
from tests.support.factories import PASSWORD, create_user
from tests.support.totp import STEP, wrong_code

pytestmark = pytest.mark.usefixtures("engine")


def _count(action: Action) -> int:
    with db.read() as session:
        return session.exec(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == action.value)
        ).one()


def _session_id(token: str) -> int:
    principal = db.call_read(sessions.resolve, token=token)
    assert principal is not None
    return principal.session_id


def _enabled_user() -> tuple[User, str, pyotp.TOTP, list[str]]:
    """A user with 2FA on (enabled with the previous step's code, so now's is unused)."""
    user, token = create_user()
    setup = security.start_two_factor(user_id=user.id)
    totp = pyotp.TOTP(setup.secret)
    codes = security.enable_two_factor(user_id=user.id, code=totp.at(utcnow() - STEP), now=utcnow())
    return user, token, totp, codes


def _sign_in(email: str, otp: str | None, *, now=None, ip: str = "10.0.0.1"):
    check = db.call_read(
        accounts.check_sign_in, email=email, password=PASSWORD, ip=ip, otp=otp, now=now
    )
    return db.call(accounts.finish_sign_in, check=check, ip=ip, user_agent="pytest")


def test_setup_gives_a_pending_secret_and_an_otpauth_uri_for_the_email():
    user, _ = create_user(email="ada@example.com")
    setup = security.start_two_factor(user_id=user.id)
    assert setup.otpauth_uri.startswith("otpauth://totp/imgapp:ada%40example.com?")
    assert f"secret={setup.secret}" in setup.otpauth_uri
    assert "issuer=imgapp" in setup.otpauth_uri
    with db.read() as session:
        stored = session.get(User, user.id)
        assert stored.totp_pending_secret == setup.secret
        assert stored.totp_secret is None
    assert not db.call_read(two_factor.is_enabled, user_id=user.id)
    assert _sign_in(user.email, None).error is None  # pending is not active


def test_enable_with_a_wrong_code_enables_nothing_and_is_audited():
    user, _ = create_user()
    setup = security.start_two_factor(user_id=user.id)
    wrong = wrong_code(pyotp.TOTP(setup.secret))
    with pytest.raises(InvalidOtp):
        security.enable_two_factor(user_id=user.id, code=wrong)
    assert not db.call_read(two_factor.is_enabled, user_id=user.id)
    assert _count(Action.TWO_FACTOR_FAILED) == 1
    assert _count(Action.TWO_FACTOR_ENABLED) == 0
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(RecoveryCode)).one() == 0


def test_enable_without_setup_is_refused():
    user, _ = create_user()
    with pytest.raises(ValidationFailed) as caught:
        security.enable_two_factor(user_id=user.id, code="123456")
    assert caught.value.rule == "two_factor_not_started"


def test_enable_gives_ten_distinct_recovery_codes_stored_only_as_hashes():
    user, _, _, codes = _enabled_user()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    with db.read() as session:
        rows = session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    assert len(rows) == 10
    stored = {r.code_hash for r in rows}
    assert not stored & set(codes)
    assert _count(Action.TWO_FACTOR_ENABLED) == 1
    with pytest.raises(TwoFactorAlreadyOn):
        security.start_two_factor(user_id=user.id)


def test_sign_in_needs_the_code_and_opens_no_session_without_it():
    user, _, totp, _ = _enabled_user()
    with db.read() as session:
        before = session.exec(select(func.count()).select_from(UserSession)).one()
    result = _sign_in(user.email, None)
    assert isinstance(result.error, OtpRequired)
    assert result.token is None
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(UserSession)).one() == before
    assert _count(Action.LOGIN_FAILED) == 0  # the password was right
    assert _sign_in(user.email, totp.now()).error is None


@pytest.mark.parametrize("drift", [-1, 0, 1])
def test_codes_of_the_neighbouring_steps_are_accepted(drift):
    user, _, totp, _ = _enabled_user()
    now = utcnow() + 2 * STEP  # past the step that enabled it
    assert _sign_in(user.email, totp.at(now + drift * STEP), now=now).error is None


def test_codes_two_steps_away_are_refused():
    user, _, totp, _ = _enabled_user()
    now = utcnow() + 3 * STEP
    result = _sign_in(user.email, totp.at(now - 2 * STEP), now=now)
    assert isinstance(result.error, InvalidOtp)


def test_the_same_code_never_signs_in_twice():
    user, _, totp, _ = _enabled_user()
    code = totp.now()
    assert _sign_in(user.email, code).error is None
    again = _sign_in(user.email, code)
    assert isinstance(again.error, InvalidOtp)
    assert again.token is None
    assert _count(Action.TWO_FACTOR_FAILED) == 1


def test_the_code_that_enabled_2fa_cannot_sign_in():
    user, _ = create_user()
    setup = security.start_two_factor(user_id=user.id)
    totp = pyotp.TOTP(setup.secret)
    code = totp.now()
    security.enable_two_factor(user_id=user.id, code=code)
    assert isinstance(_sign_in(user.email, code).error, InvalidOtp)


def test_a_recovery_code_signs_in_once_and_is_audited():
    user, _, _, codes = _enabled_user()
    assert _sign_in(user.email, codes[0].upper()).error is None
    assert isinstance(_sign_in(user.email, codes[0]).error, InvalidOtp)
    assert _sign_in(user.email, codes[1].replace("-", "")).error is None
    assert _count(Action.RECOVERY_CODE_USED) == 2
    assert db.call_read(two_factor.recovery_codes_left, user_id=user.id) == 8


def test_wrong_codes_count_toward_the_sign_in_throttle(configure):
    configure(LOGIN_MAX_FAILURES_PER_IP="100")
    user, _, totp, _ = _enabled_user()
    for i in range(5):
        wrong = _sign_in(user.email, wrong_code(totp), ip=f"10.1.{i}.1")
        assert isinstance(wrong.error, InvalidOtp)
    locked = _sign_in(user.email, totp.now(), ip="10.2.0.1")
    assert isinstance(locked.error, TooManyAttempts)
    assert _count(Action.TWO_FACTOR_FAILED) == 5


def test_reauth_lasts_ten_minutes():
    user, token = create_user()
    session_id = _session_id(token)
    assert not db.call_read(sessions.reauthenticated, session_id)
    with pytest.raises(ReauthRequired):
        db.call_read(sessions.require_reauth, session_id)
    until = security.reauthenticate(user_id=user.id, session_id=session_id, password=PASSWORD)
    assert timedelta(minutes=9) < until - utcnow() <= timedelta(minutes=10)
    assert db.call_read(sessions.reauthenticated, session_id, user_id=user.id)
    later = utcnow() + timedelta(minutes=10, seconds=1)
    assert not db.call_read(sessions.reauthenticated, session_id, now=later)
    assert not db.call_read(sessions.reauthenticated, session_id, user_id=user.id + 1)
    assert _count(Action.REAUTHENTICATED) == 1


def test_reauth_with_2fa_needs_the_code_and_a_wrong_password_counts_as_a_failure():
    user, token, totp, _ = _enabled_user()
    session_id = _session_id(token)
    with pytest.raises(OtpRequired):
        security.reauthenticate(user_id=user.id, session_id=session_id, password=PASSWORD)
    with pytest.raises(WrongPassword):
        security.reauthenticate(
            user_id=user.id, session_id=session_id, password="wrong-password", code=totp.now()
        )
    assert _count(Action.LOGIN_FAILED) == 1
    security.reauthenticate(
        user_id=user.id, session_id=session_id, password=PASSWORD, code=totp.now()
    )
    assert db.call_read(sessions.reauthenticated, session_id)


def test_regenerating_recovery_codes_needs_reauth_and_voids_the_old_ones():
    user, token, totp, old = _enabled_user()
    session_id = _session_id(token)
    with pytest.raises(ReauthRequired):
        security.regenerate_recovery_codes(user_id=user.id, session_id=session_id)
    security.reauthenticate(
        user_id=user.id, session_id=session_id, password=PASSWORD, code=totp.now()
    )
    new = security.regenerate_recovery_codes(user_id=user.id, session_id=session_id)
    assert len(new) == 10
    assert not set(new) & set(old)
    assert isinstance(_sign_in(user.email, old[0]).error, InvalidOtp)
    assert _sign_in(user.email, new[0]).error is None
    assert _count(Action.RECOVERY_CODES_REGENERATED) == 1


def test_disable_takes_password_and_code_and_removes_the_codes():
    user, token, totp, _ = _enabled_user()
    session_id = _session_id(token)
    with pytest.raises(ReauthRequired):
        security.disable_two_factor(user_id=user.id, session_id=session_id)
    security.disable_two_factor(
        user_id=user.id, session_id=session_id, password=PASSWORD, code=totp.now()
    )
    assert not db.call_read(two_factor.is_enabled, user_id=user.id)
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(RecoveryCode)).one() == 0
    assert _sign_in(user.email, None).error is None
    assert _count(Action.TWO_FACTOR_DISABLED) == 1
    with pytest.raises(TwoFactorOff):
        security.disable_two_factor(user_id=user.id, session_id=session_id)


def test_change_email_needs_a_reauthenticated_session():
    user, token = create_user()
    session_id = _session_id(token)
    with pytest.raises(ReauthRequired):
        db.call(
            accounts.change_email,
            user_id=user.id,
            session_id=session_id,
            new_email="moved@example.com",
        )
    security.reauthenticate(user_id=user.id, session_id=session_id, password=PASSWORD)
    moved = db.call(
        accounts.change_email, user_id=user.id, session_id=session_id, new_email="moved@example.com"
    )
    assert moved.email == "moved@example.com"
