"""What the security page's credential cards read: the 2FA status and each key's status."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from imgapp.core import db
from imgapp.flows import security
from imgapp.models.base import utcnow
from imgapp.services import accounts, api_keys, sessions, two_factor
from tests.support.factories import PASSWORD, create_user
from tests.support.totp import STEP

pytestmark = pytest.mark.usefixtures("engine")


def _session_id(token: str) -> int:
    principal = db.call_read(sessions.resolve, token=token)
    assert principal is not None
    return principal.session_id


def test_two_factor_status_is_off_until_enabled_then_counts_unused_codes():
    user, _ = create_user()
    off = two_factor.Status(enabled=False, enabled_at=None, codes_left=0)
    assert db.call_read(two_factor.status, user_id=user.id) == off
    secret = security.start_two_factor(user_id=user.id).secret
    assert db.call_read(two_factor.status, user_id=user.id) == off  # pending is not on

    before = utcnow()
    codes = security.enable_two_factor(user_id=user.id, code=pyotp.TOTP(secret).at(before - STEP))
    found = db.call_read(two_factor.status, user_id=user.id)
    assert found.enabled
    assert found.enabled_at is not None
    assert found.enabled_at >= before - timedelta(seconds=1)
    assert found.codes_left == 10

    check = db.call_read(
        accounts.check_sign_in, email=user.email, password=PASSWORD, ip="10.0.0.1", otp=codes[0]
    )
    assert db.call(accounts.finish_sign_in, check=check, ip="10.0.0.1", user_agent="t").user
    assert db.call_read(two_factor.status, user_id=user.id).codes_left == 9


def test_key_status_is_active_expired_or_revoked_and_revoked_wins():
    user, token = create_user()
    session_id = _session_id(token)
    security.reauthenticate(user_id=user.id, session_id=session_id, password=PASSWORD)
    row = db.call(
        api_keys.create, user_id=user.id, session_id=session_id, name="k", scopes=["read"]
    ).row
    assert api_keys.status(row) == "active"
    assert api_keys.status(row, now=row.expires_at) == "expired"
    revoked = db.call(api_keys.revoke, user_id=user.id, key_id=row.id)
    assert api_keys.status(revoked) == "revoked"
    assert api_keys.status(revoked, now=row.expires_at + timedelta(days=1)) == "revoked"
