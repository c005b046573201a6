"""Sign-in's second step as a browser form meets it: what survives the trip back to `/login`."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pyotp

from tests.support.factories import PASSWORD, create_user
from tests.support.totp import wrong_code


def _with_two_factor(client) -> tuple[str, pyotp.TOTP]:
    user, _ = create_user()
    client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    totp = pyotp.TOTP(client.post("/api/auth/2fa/setup").json()["secret"])
    assert client.post("/api/auth/2fa/enable", json={"code": totp.now()}).status_code == 200
    client.post("/api/auth/logout")
    return user.email, totp


def _back_to(response) -> dict[str, list[str]]:
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/login"
    return parse_qs(target.query)


def test_the_code_step_keeps_email_next_and_invite_and_never_the_password(client, new_client):
    email, totp = _with_two_factor(client)
    browser = new_client()
    form = {
        "email": email,
        "password": PASSWORD,
        "next": "/invites?invite=ABCD1234",
        "invite_code": "ABCD1234",
    }
    asked = _back_to(browser.post("/api/auth/login", data=form))
    assert asked == {
        "error": ["otp_required"],
        "email": [email],
        "next": ["/invites?invite=ABCD1234"],
        "invite": ["ABCD1234"],
    }
    refused = _back_to(browser.post("/api/auth/login", data={**form, "otp": wrong_code(totp)}))
    assert refused["error"] == ["otp_invalid"]
    assert refused["invite"] == ["ABCD1234"]
    assert refused["next"] == ["/invites?invite=ABCD1234"]
    assert all(PASSWORD not in v for values in refused.values() for v in values)
