"""Personal API keys over HTTP: `/api/keys`, and `Authorization: Bearer` on the user REST API."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from imgapp.core import db
from imgapp.models import ApiKey, AuditLog, User
from imgapp.models.base import utcnow
from imgapp.services import sessions
from imgapp.services.audit import Action
from tests.support.factories import PASSWORD, create_user, funded_user

INTERNAL_KEY = "test-internal-api-key-0123456789"


def _signed_in(client: httpx.Client, user: User | None = None) -> User:
    user = user or create_user()[0]
    response = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    return user


def _reauth(client: httpx.Client) -> None:
    assert client.post("/api/auth/reauth", json={"password": PASSWORD}).status_code == 200


def _new_key(client: httpx.Client, scopes: list[str], **extra: object) -> dict:
    response = client.post("/api/keys", json={"name": "script", "scopes": scopes, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _audited(action: Action) -> int:
    with db.read() as session:
        return session.exec(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == action.value)
        ).one()


def test_creating_a_key_needs_reauth_and_shows_the_key_once(client):
    _signed_in(client)
    refused = client.post("/api/keys", json={"name": "ci", "scopes": ["read"]})
    assert refused.status_code == 403
    assert refused.json()["code"] == "reauth_required"
    _reauth(client)
    made = _new_key(client, ["read", "generate"])
    assert made["key"].startswith(made["prefix"] + "_")
    assert made["prefix"].startswith("imgk_")
    assert len(made["prefix"]) == 13
    assert made["scopes"] == ["read", "generate"]
    listed = client.get("/api/keys").json()
    assert [k["prefix"] for k in listed] == [made["prefix"]]
    assert made["key"] not in str(listed)
    assert listed[0]["status"] == "active"
    with db.read() as session:
        row = session.get(ApiKey, made["id"])
        assert row is not None
        assert made["key"] not in row.key_hash
        assert timedelta(days=89) < row.expires_at - utcnow() <= timedelta(days=90)
    assert _audited(Action.API_KEY_CREATED) == 1


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"name": "", "scopes": ["read"]}, "key_name_required", "name"),
        ({"name": "x" * 61, "scopes": ["read"]}, "key_name_too_long", "name"),
        ({"name": "ci", "scopes": []}, "key_scopes_invalid", "scopes"),
        ({"name": "ci", "scopes": ["admin"]}, "key_scopes_invalid", "scopes"),
        ({"name": "ci", "scopes": "read"}, "key_scopes_invalid", "scopes"),
        (
            {"name": "ci", "scopes": ["read"], "expires_in_days": 0},
            "key_days_invalid",
            "expires_in_days",
        ),
        (
            {"name": "ci", "scopes": ["read"], "expires_in_days": 367},
            "key_days_invalid",
            "expires_in_days",
        ),
        (
            {"name": "ci", "scopes": ["read"], "expires_in_days": "9"},
            "key_days_invalid",
            "expires_in_days",
        ),
    ],
)
def test_bad_key_fields_are_400_naming_the_field(client, body, code, field):
    _signed_in(client)
    _reauth(client)
    response = client.post("/api/keys", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert client.get("/api/keys").json() == []


def test_a_key_reads_and_generates_within_its_scopes(client, new_client):
    user = funded_user(100)
    _signed_in(client, user)
    _reauth(client)
    reader = _new_key(client, ["read"])["key"]
    maker = _new_key(client, ["generate"])["key"]
    script = new_client()  # no cookie
    summary = script.get("/api/billing/summary", headers=_bearer(reader))
    assert summary.status_code == 200
    assert summary.json()["user_id"] == user.id
    assert script.get("/api/usage/report", headers=_bearer(reader)).status_code == 200
    assert script.get("/api/invites", headers=_bearer(reader)).status_code == 200
    assert script.get("/api/payments", headers=_bearer(reader)).status_code == 200
    denied = script.post("/api/generate-image", json={"prompt": "a kite"}, headers=_bearer(reader))
    assert denied.status_code == 403
    assert denied.json()["code"] == "scope_missing"
    assert "generate" in denied.json()["error"]
    made = script.post(
        "/api/generate-image",
        json={"prompt": "a kite", "size": "512x512", "n": 1},
        headers={**_bearer(maker), "origin": "https://elsewhere.example"},
    )
    assert made.status_code == 202  # not a cookie request: no same-origin check
    pay = script.post(
        "/api/payments/create",
        json={"amount": "10.00", "pay_type": "alipay"},
        headers=_bearer(maker),
    )
    assert pay.status_code == 403
    assert "pay" in pay.json()["error"]
    assert script.get("/api/generate-image", headers=_bearer(maker)).status_code == 403


def test_cookie_requests_keep_the_same_origin_check(client):
    _signed_in(client, funded_user(100))
    cross = client.post(
        "/api/generate-image",
        json={"prompt": "a kite"},
        headers={"origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert cross.json()["code"] == "cross_site"


def test_first_use_is_recorded_and_audited_once(client, new_client):
    _signed_in(client)
    _reauth(client)
    made = _new_key(client, ["read"])
    script = new_client()
    for _ in range(3):
        assert script.get("/api/billing/summary", headers=_bearer(made["key"])).status_code == 200
    assert _audited(Action.API_KEY_FIRST_USED) == 1
    listed = client.get("/api/keys").json()[0]
    assert listed["last_used_at"] is not None
    assert listed["last_used_ip"] == "127.0.0.1"


def test_revoked_and_expired_keys_are_refused_at_once(client, new_client):
    _signed_in(client)
    _reauth(client)
    revoked = _new_key(client, ["read"])
    expired = _new_key(client, ["read"], expires_in_days=1)
    script = new_client()
    assert script.get("/api/billing/summary", headers=_bearer(revoked["key"])).status_code == 200
    assert client.delete(f"/api/keys/{revoked['id']}").status_code == 204
    gone = script.get("/api/billing/summary", headers=_bearer(revoked["key"]))
    assert gone.status_code == 401
    assert gone.json()["code"] == "api_key_revoked"
    with db.transaction() as session:
        session.execute(
            update(ApiKey)
            .where(col(ApiKey.id) == expired["id"])
            .values(
                created_at=utcnow() - timedelta(days=1, seconds=1),
                expires_at=utcnow() - timedelta(seconds=1),
            )
        )
    late = script.get("/api/billing/summary", headers=_bearer(expired["key"]))
    assert late.status_code == 401
    assert late.json()["code"] == "api_key_expired"
    statuses = {k["id"]: k["status"] for k in client.get("/api/keys").json()}
    assert statuses == {revoked["id"]: "revoked", expired["id"]: "expired"}
    assert _audited(Action.API_KEY_REVOKED) == 1


def test_another_users_key_is_404_to_revoke(client, new_client):
    _signed_in(client)
    _reauth(client)
    made = _new_key(client, ["read"])
    stranger = new_client()
    _signed_in(stranger)
    assert stranger.delete(f"/api/keys/{made['id']}").status_code == 404
    assert client.get("/api/keys").json()[0]["status"] == "active"


def test_a_key_never_manages_keys_signs_in_or_binds_invites(client, new_client):
    _signed_in(client)
    _reauth(client)
    key = _new_key(client, ["read", "generate", "pay"])["key"]
    script = new_client()
    for method, path, body in (
        ("GET", "/api/keys", None),
        ("POST", "/api/keys", {"name": "more", "scopes": ["read"]}),
        ("GET", "/api/auth/me", None),
        ("POST", "/api/auth/reauth", {"password": PASSWORD}),
        ("POST", "/api/auth/2fa/setup", None),
        ("POST", "/api/invites/register", {"invite_code": "ABCDEFGH"}),
    ):
        response = script.request(method, path, json=body, headers=_bearer(key))
        assert response.status_code == 401, path
        assert response.json()["code"] == "api_key_not_accepted", path
    assert db.call_read(sessions.resolve, token=key) is None  # nor page state


def test_keys_and_the_internal_secret_never_stand_in_for_each_other(client, new_client):
    user = funded_user(100)
    _signed_in(client, user)
    _reauth(client)
    key = _new_key(client, ["read", "generate", "pay"])["key"]
    script = new_client()
    deduct = script.post(
        "/api/billing/deduct",
        json={"user_id": user.id, "amount": 1, "idempotency_key": "k1"},
        headers=_bearer(key),
    )
    assert deduct.status_code == 401
    assert deduct.json()["code"] == "internal_key"
    as_user = script.get("/api/billing/summary", headers=_bearer(INTERNAL_KEY))
    assert as_user.status_code == 401
    assert as_user.json()["code"] == "api_key_invalid"
    # A bad Bearer value never falls back to the cookie of the same request.
    mixed = client.get("/api/billing/summary", headers=_bearer("imgk_nothing_real"))
    assert mixed.status_code == 401
