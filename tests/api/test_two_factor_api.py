"""Two-factor sign-in and re-authentication over HTTP: `/api/auth/2fa/*`, `/reauth`, login."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
from sqlalchemy import update
from sqlmodel import col, func, select

from imgapp.core import db
from imgapp.models import AuditLog, User, UserSession
from imgapp.services.audit import Action
from tests.support.factories import PASSWORD, create_user
from tests.support.totp import wrong_code


def _login(client: httpx.Client, email: str, **extra: str) -> httpx.Response:
    return client.post("/api/auth/login", json={"email": email, "password": PASSWORD, **extra})


def _forget_used_codes(user_id: int) -> None:
    """Let the current step's code be used again (tests use several codes within 30 s)."""
    with db.transaction() as session:
        session.execute(update(User).where(col(User.id) == user_id).values(totp_last_step=None))


def _sessions() -> int:
    with db.read() as session:
        return session.exec(select(func.count()).select_from(UserSession)).one()


def _audited(action: Action) -> int:
    with db.read() as session:
        return session.exec(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == action.value)
        ).one()


def _enable(client: httpx.Client) -> tuple[User, pyotp.TOTP, list[str]]:
    """Sign in a new user and turn 2FA on through the API."""
    user, _ = create_user()
    assert _login(client, user.email).status_code == 200
    setup = client.post("/api/auth/2fa/setup")
    assert setup.status_code == 200
    body = setup.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/imgapp:")
    totp = pyotp.TOTP(body["secret"])
    enabled = client.post("/api/auth/2fa/enable", json={"code": totp.now()})
    assert enabled.status_code == 200
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == 10
    _forget_used_codes(user.id)
    return user, totp, codes


def test_enable_with_a_wrong_code_is_400_and_enables_nothing(client):
    user, _ = create_user()
    _login(client, user.email)
    secret = client.post("/api/auth/2fa/setup").json()["secret"]
    response = client.post("/api/auth/2fa/enable", json={"code": wrong_code(pyotp.TOTP(secret))})
    assert response.status_code == 400
    assert response.json()["code"] == "otp_invalid"
    assert "code is not right" in response.json()["error"]
    assert _login(client, user.email).status_code == 200  # still no code needed


def test_login_with_2fa_needs_the_code_and_opens_no_session_without_it(client, new_client):
    user, totp, _ = _enable(client)
    other = new_client()
    before = _sessions()
    response = _login(other, user.email)
    assert response.status_code == 401
    assert response.json()["code"] == "otp_required"
    assert "set-cookie" not in response.headers
    assert _sessions() == before
    assert other.get("/api/auth/me").status_code == 401
    ok = _login(other, user.email, otp=totp.now())
    assert ok.status_code == 200
    assert other.get("/api/auth/me").json()["id"] == user.id


def test_a_code_is_refused_the_second_time(client, new_client):
    user, totp, _ = _enable(client)
    code = totp.now()
    assert _login(new_client(), user.email, otp=code).status_code == 200
    again = _login(new_client(), user.email, otp=code)
    assert again.status_code == 401
    assert again.json()["code"] == "otp_invalid"
    assert _audited(Action.TWO_FACTOR_FAILED) == 1


def test_a_recovery_code_works_once(client, new_client):
    user, _, codes = _enable(client)
    assert _login(new_client(), user.email, otp=codes[3]).status_code == 200
    assert _login(new_client(), user.email, otp=codes[3]).status_code == 401
    assert _audited(Action.RECOVERY_CODE_USED) == 1


def test_wrong_codes_lock_the_account_like_wrong_passwords(client, new_client):
    user, totp, _ = _enable(client)
    other = new_client()
    for _ in range(5):
        assert _login(other, user.email, otp=wrong_code(totp)).status_code == 401
    locked = _login(other, user.email, otp=totp.now())
    assert locked.status_code == 429
    assert "retry-after" in locked.headers


def test_the_login_form_goes_back_for_the_code_with_email_and_next(client, new_client):
    user, totp, _ = _enable(client)
    browser = new_client()
    response = browser.post(
        "/api/auth/login", data={"email": user.email, "password": PASSWORD, "next": "/usage"}
    )
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/login"
    assert parse_qs(target.query) == {
        "error": ["otp_required"],
        "email": [user.email],
        "next": ["/usage"],
    }
    assert "set-cookie" not in response.headers
    done = browser.post(
        "/api/auth/login",
        data={"email": user.email, "password": PASSWORD, "otp": totp.now(), "next": "/usage"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/usage"
    assert "HttpOnly" in done.headers["set-cookie"]


def test_reauth_gives_until_and_opens_recovery_code_regeneration(client):
    _user, totp, old = _enable(client)
    refused = client.post("/api/auth/2fa/recovery-codes")
    assert refused.status_code == 403
    assert refused.json()["code"] == "reauth_required"
    no_code = client.post("/api/auth/reauth", json={"password": PASSWORD})
    assert no_code.status_code == 401
    assert no_code.json()["code"] == "otp_required"
    wrong = client.post("/api/auth/reauth", json={"password": "not-my-password", "code": "1"})
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "wrong_password"
    ok = client.post("/api/auth/reauth", json={"password": PASSWORD, "code": totp.now()})
    assert ok.status_code == 200
    assert "until" in ok.json()
    new = client.post("/api/auth/2fa/recovery-codes")
    assert new.status_code == 200
    assert len(new.json()["recovery_codes"]) == 10
    assert not set(new.json()["recovery_codes"]) & set(old)


def test_disable_with_password_and_code_in_its_body(client, new_client):
    user, totp, _ = _enable(client)
    bare = client.post("/api/auth/2fa/disable", json={})
    assert bare.status_code == 403
    assert bare.json()["code"] == "reauth_required"
    wrong = client.post("/api/auth/2fa/disable", json={"password": PASSWORD, "code": "000"})
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "otp_invalid"
    done = client.post("/api/auth/2fa/disable", json={"password": PASSWORD, "code": totp.now()})
    assert done.status_code == 200
    assert _login(new_client(), user.email).status_code == 200
    assert _audited(Action.TWO_FACTOR_DISABLED) == 1


def test_2fa_routes_need_a_session_and_refuse_other_sites(client):
    assert client.post("/api/auth/2fa/setup").status_code == 401
    user, _ = create_user()
    _login(client, user.email)
    cross = client.post("/api/auth/2fa/setup", headers={"origin": "https://evil.example"})
    assert cross.status_code == 403
    assert cross.json()["code"] == "cross_site"


def test_wrong_passwords_at_reauth_count_toward_the_throttle(client):
    user, _ = create_user()
    _login(client, user.email)
    for _ in range(5):
        wrong = client.post("/api/auth/reauth", json={"password": "not-my-password"})
        assert wrong.status_code == 400
    locked = client.post("/api/auth/reauth", json={"password": PASSWORD})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 900
