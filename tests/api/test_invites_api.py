"""`/api/invites` and sign-up with a code, over HTTP: binding, the overview, the manual reward."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from imgapp.core import db
from imgapp.models import User
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
