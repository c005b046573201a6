"""Invites over HTTP: sign-up with a code, binding, overview, rewards on every path, poster."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import httpx
import pytest
from PIL import Image
from sqlmodel import select

from imgapp.core import db
from imgapp.models import User
from imgapp.worker import reconciler as payment_reconciler
from tests.support.factories import PASSWORD, balance_of, create_user, unique_email

KEY = "test-internal-api-key-0123456789"


def _code(user_id: int) -> str:
    with db.read() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.invite_code or ""


def _sign_in(client: httpx.Client, email: str) -> None:
    response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200


def test_signing_up_with_a_code_binds_and_the_inviter_sees_it(client, new_client):
    inviter, _ = create_user()
    email = unique_email("friend")
    response = client.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "invite_code": _code(inviter.id).lower()},
    )
    assert response.status_code == 201, response.text
    other = new_client()
    _sign_in(other, inviter.email)
    body = other.get("/api/invites").json()
    assert body["code"] == _code(inviter.id)
    assert body["link"].endswith(f"/register?invite={body['code']}")
    assert body["stats"] == {
        "invited": 1,
        "qualified": 0,
        "rewarded": 0,
        "held": 0,
        "credits_earned": 0,
    }
    [invitee] = body["invitees"]
    assert invitee["email"] == email[0] + "***@example.com"
    assert invitee["status"] == "pending"
    summary = other.get("/api/billing/summary").json()["invites"]
    assert summary == {"code": body["code"], "count": 1, "credits_earned": 0}


def test_an_unknown_code_refuses_the_sign_up_and_creates_nothing(client):
    email = unique_email("typo")
    response = client.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "invite_code": "22222222"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invite_code_unknown"
    with db.read() as session:
        assert session.exec(select(User).where(User.email == email)).first() is None


def test_binding_later_is_201_then_409(client):
    inviter, _ = create_user()
    invitee, _ = create_user()
    _sign_in(client, invitee.email)
    first = client.post("/api/invites/register", json={"invite_code": _code(inviter.id)})
    assert first.status_code == 201, first.text
    assert first.json()["inviter_id"] == inviter.id
    again = client.post("/api/invites/register", json={"invite_code": _code(inviter.id)})
    assert again.status_code == 409
    own = client.post("/api/invites/register", json={"invite_code": _code(invitee.id)})
    assert (own.status_code, own.json()["code"]) == (400, "invite_own_code")


@pytest.mark.parametrize(("body", "code"), [({}, "invite_code_invalid"), ([], "bad_request")])
def test_bad_bodies_are_400(client, body, code):
    user, _ = create_user()
    _sign_in(client, user.email)
    response = client.post("/api/invites/register", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_the_manual_reward_needs_the_key_and_credits_once(client):
    inviter, _ = create_user()
    invitee, _ = create_user()
    _sign_in(client, invitee.email)
    client.post("/api/invites/register", json={"invite_code": _code(inviter.id)})
    assert client.post("/api/invites/reward", json={"invitee_id": invitee.id}).status_code == 401
    headers = {"authorization": f"Bearer {KEY}"}
    first = client.post("/api/invites/reward", json={"invitee_id": invitee.id}, headers=headers)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["credits"], first.json()["replayed"]) == (
        "rewarded",
        100,
        False,
    )
    again = client.post("/api/invites/reward", json={"invitee_id": invitee.id}, headers=headers)
    assert again.json()["replayed"] is True
    assert balance_of(inviter.id) == 100
    nobody = client.post("/api/invites/reward", json={"invitee_id": inviter.id}, headers=headers)
    assert nobody.status_code == 404


def test_anonymous_is_401(client):
    assert client.get("/api/invites").status_code == 401
    assert client.post("/api/invites/register", json={"invite_code": "22222222"}).status_code == 401


def _invited(client: httpx.Client, inviter_id: int, **headers: str) -> str:
    """Sign up on `client` with the inviter's code; the new account's email."""
    email = unique_email("friend")
    response = client.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "invite_code": _code(inviter_id)},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return email


def _pay(client: httpx.Client, amount: str = "50.00") -> dict:
    response = client.post("/api/payments/create", json={"amount": amount, "pay_type": "alipay"})
    assert response.status_code == 201, response.text
    return response.json()


def _invitee_row(inviter_http: httpx.Client) -> dict:
    [row] = inviter_http.get("/api/invites").json()["invitees"]
    return row


def test_the_first_recharge_through_the_webhook_rewards_once_and_a_second_does_not(
    client, new_client, gateway, configure
):
    configure(INVITE_HOLD_SAME_IP="false")  # every test client shares 127.0.0.1
    inviter, _ = create_user()
    inviter_http = new_client()
    _sign_in(inviter_http, inviter.email)
    _invited(client, inviter.id)
    assert _invitee_row(inviter_http)["status"] == "pending"
    first = _pay(client)["order_id"]
    assert gateway.pay(first).text == "success"
    assert gateway.pay(first).text == "success"  # XorPay retries: nothing more
    assert balance_of(inviter.id) == 100
    row = _invitee_row(inviter_http)
    assert (row["status"], row["reward"], row["reason"]) == ("rewarded", 100, "")
    assert row["first_recharge"] is not None
    second = _pay(client, "10.00")["order_id"]
    assert gateway.pay(second).text == "success"
    assert balance_of(inviter.id) == 100
    stats = inviter_http.get("/api/invites").json()["stats"]
    assert stats == {"invited": 1, "qualified": 1, "rewarded": 1, "held": 0, "credits_earned": 100}


def test_reconciliation_of_a_lost_notification_rewards_the_inviter(client, gateway, configure):
    configure(INVITE_HOLD_SAME_IP="false")
    inviter, _ = create_user()
    _invited(client, inviter.id)
    order_id = _pay(client)["order_id"]
    gateway.orders[order_id]["paid"] = True  # paid, the notification lost
    assert payment_reconciler.run_once(older_than=None).credited == [order_id]
    assert balance_of(inviter.id) == 100
    assert gateway.pay(order_id).text == "success"  # the late notification adds nothing
    assert balance_of(inviter.id) == 100


def test_the_sandbox_checkout_rewards_the_inviter(client, new_client, sandbox, configure):
    configure(INVITE_HOLD_SAME_IP="false")
    inviter, _ = create_user()
    inviter_http = new_client()
    _sign_in(inviter_http, inviter.email)
    _invited(client, inviter.id)
    checkout = _pay(client, "9.90")["qr"]
    assert httpx.post(checkout + "/pay").status_code == 200
    assert httpx.post(checkout + "/pay").status_code == 200  # a double click
    assert balance_of(inviter.id) == 100
    assert _invitee_row(inviter_http)["status"] == "rewarded"


def test_a_sign_up_from_the_inviters_network_is_held_and_another_network_is_not(
    client, new_client, sandbox, configure
):
    configure(TRUST_PROXY_HEADERS="true")
    inviter, _ = create_user()
    inviter_http = new_client()
    _sign_in(inviter_http, inviter.email)  # the inviter's session: 127.0.0.1
    _invited(client, inviter.id)  # from 127.0.0.1 as well
    assert httpx.post(_pay(client)["qr"] + "/pay").status_code == 200
    row = _invitee_row(inviter_http)
    assert (row["status"], row["reason"], row["reward"]) == ("held", "same_ip", 100)
    assert balance_of(inviter.id) == 0

    elsewhere = new_client()
    _invited(elsewhere, inviter.id, **{"X-Forwarded-For": "203.0.113.9"})
    assert httpx.post(_pay(elsewhere)["qr"] + "/pay").status_code == 200
    statuses = sorted(i["status"] for i in inviter_http.get("/api/invites").json()["invitees"])
    assert statuses == ["held", "rewarded"]
    assert balance_of(inviter.id) == 100


def test_the_sign_up_form_binds_the_code_and_a_failure_keeps_it(client):
    inviter, _ = create_user()
    typo = client.post(
        "/api/auth/register",
        data={"email": unique_email("form"), "password": PASSWORD, "invite_code": "22222222"},
        follow_redirects=False,
    )
    assert typo.status_code == 303
    location = typo.headers["location"]
    assert location.startswith("/register?")
    assert "error=invite_code_unknown" in location
    assert "invite=22222222" in location
    email = unique_email("form")
    done = client.post(
        "/api/auth/register",
        data={"email": email, "password": PASSWORD, "invite_code": _code(inviter.id)},
        follow_redirects=False,
    )
    assert (done.status_code, done.headers["location"]) == (303, "/")
    body = client.get("/api/invites").json()
    assert body["invited_by"] == f"{inviter.email[0]}***@example.com"
    assert body["bind_until"] is None  # bound: nothing more to add


def test_a_new_account_may_bind_for_seven_days(client):
    user, _ = create_user()
    _sign_in(client, user.email)
    body = client.get("/api/invites").json()
    assert body["invited_by"] == ""
    until = datetime.fromisoformat(body["bind_until"])
    assert (
        timedelta(days=6, hours=23)
        < until - user.created_at.replace(tzinfo=until.tzinfo)
        <= timedelta(days=7)
    )


def test_the_poster_is_a_png_of_the_users_code_in_the_language_asked_for(client):
    user, _ = create_user()
    assert client.get("/api/invites/poster.png").status_code == 401
    _sign_in(client, user.email)
    zh = client.get("/api/invites/poster.png", params={"lang": "zh"})
    assert zh.status_code == 200
    assert zh.headers["content-type"] == "image/png"
    code = _code(user.id)
    assert f'filename="imgapp-invite-{code}.png"' in zh.headers["content-disposition"]
    assert Image.open(io.BytesIO(zh.content)).size == (1080, 1680)
    en = client.get("/api/invites/poster.png", params={"lang": "en"})
    assert en.status_code == 200
    assert en.content != zh.content
