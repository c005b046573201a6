"""Every route is classified; signed-in routes refuse strangers; one user never reaches another's.

`ROUTES` must name every route the API serves: a new route fails
`test_every_route_is_classified` until it is added here with its kind, and
then the tests below check it (401 when anonymous, 404 for another user's
ids, internal routes refuse a session and a wrong secret).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
from fastapi.routing import _IncludedRouter
from starlette.routing import BaseRoute

from imgapp.api.app import app as api_app
from imgapp.core import db
from imgapp.models import TaskImage
from tests.support.factories import PASSWORD, funded_user
from tests.support.pictures import picture

PUBLIC, SIGNED_IN, INTERNAL, WEBHOOK = "public", "signed-in", "internal", "webhook"

ROUTES: dict[str, str] = {
    "/api/openapi.json": PUBLIC,
    "/api/docs": PUBLIC,
    "/docs/oauth2-redirect": PUBLIC,
    "/api/health": PUBLIC,
    "/api/health/ready": PUBLIC,
    "/api/{path:path}": PUBLIC,  # the JSON 404
    # Signing in and out: anonymous by nature (Origin-checked).
    "/api/auth/register": PUBLIC,
    "/api/auth/login": PUBLIC,
    "/api/auth/logout": PUBLIC,
    # The sandbox gateway (not in production, 404 when XorPay is configured).
    "/api/sandbox/xorpay/pay/{aid}": PUBLIC,
    "/api/sandbox/xorpay/query2/{aid}": PUBLIC,
    "/api/sandbox/xorpay/refund/{aoid}": PUBLIC,
    "/api/sandbox/xorpay/checkout/{aoid}": PUBLIC,
    "/api/sandbox/xorpay/checkout/{aoid}/pay": PUBLIC,
    "/api/auth/me": SIGNED_IN,
    "/api/auth/sessions": SIGNED_IN,
    "/api/auth/sessions/{session_id}": SIGNED_IN,
    "/api/auth/sessions/revoke-others": SIGNED_IN,
    "/api/audit": SIGNED_IN,
    "/api/billing/summary": SIGNED_IN,
    "/api/billing/statement.csv": SIGNED_IN,
    "/api/generate-image": SIGNED_IN,
    "/api/generate-image/{task_id}": SIGNED_IN,
    "/api/generate-image/cancel": SIGNED_IN,
    "/api/generate-image/edits": SIGNED_IN,
    "/api/generate-image/{task_id}/favourite": SIGNED_IN,
    "/api/generate-image/{task_id}/retry": SIGNED_IN,
    "/api/images/{image_id}": SIGNED_IN,
    "/api/uploads/{upload_id}": SIGNED_IN,
    "/api/images/{image_id}/share": SIGNED_IN,
    "/api/generate-image/{task_id}/webhooks": SIGNED_IN,
    "/api/webhooks/secret": SIGNED_IN,
    "/api/webhooks/secret/rotate": SIGNED_IN,
    # Shared images' public pages: only what an owner published (tests/api/test_share_api.py).
    "/s/{token}": PUBLIC,
    "/s/{token}/image": PUBLIC,
    "/api/payments/create": SIGNED_IN,
    "/api/payments/{order_id}/retry": SIGNED_IN,
    "/api/payments/{order_id}": SIGNED_IN,
    "/api/payments": SIGNED_IN,
    "/api/usage/report": SIGNED_IN,
    "/api/invites": SIGNED_IN,
    "/api/invites/register": SIGNED_IN,
    "/api/auth/2fa/setup": SIGNED_IN,
    "/api/auth/2fa/enable": SIGNED_IN,
    "/api/auth/2fa/recovery-codes": SIGNED_IN,
    "/api/auth/2fa/disable": SIGNED_IN,
    "/api/auth/reauth": SIGNED_IN,
    "/api/keys": SIGNED_IN,
    "/api/keys/{key_id}": SIGNED_IN,
    "/api/invites/poster.png": SIGNED_IN,
    "/api/billing/deduct": INTERNAL,
    "/api/tasks/process": INTERNAL,
    "/api/invites/reward": INTERNAL,
    "/api/metrics": INTERNAL,
    "/api/payments/webhook": WEBHOOK,
}

SAMPLE_PARAMS = {
    "{session_id}": "1",
    "{key_id}": "1",
    "{task_id}": "1",
    "{image_id}": "1",
    "{upload_id}": "1",
    "{token}": "x",
    "{order_id}": "IMG-1",
    "{aid}": "x",
    "{aoid}": "x",
    "{path:path}": "x",
}


def all_routes(app: object) -> Iterator[BaseRoute]:
    """Every route of the app, those of included routers too."""

    def walk(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
        for route in routes:
            if isinstance(route, _IncludedRouter):
                yield from walk(route.original_router.routes)
            else:
                yield route

    return walk(app.routes)  # type: ignore[attr-defined]


def _served() -> list[tuple[str, str]]:
    found = []
    for route in all_routes(api_app):
        methods = getattr(route, "methods", None) or {"GET"}
        found.extend((method, route.path) for method in sorted(methods - {"HEAD", "OPTIONS"}))  # type: ignore[attr-defined]
    return found


def _url(path: str) -> str:
    for name, value in SAMPLE_PARAMS.items():
        path = path.replace(name, value)
    return path


def test_every_route_is_classified():
    unclassified = sorted({path for _, path in _served() if path not in ROUTES})
    assert unclassified == [], f"add these to ROUTES in {__file__}: {unclassified}"
    gone = sorted(set(ROUTES) - {path for _, path in _served()})
    assert gone == []


def test_every_signed_in_route_is_401_for_a_stranger(client):
    checked = 0
    for method, path in _served():
        if ROUTES[path] != SIGNED_IN:
            continue
        response = client.request(method, _url(path), json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["code"] == "not_signed_in"
        checked += 1
    assert checked >= 19


def test_internal_routes_refuse_a_session_and_a_wrong_secret(client):
    user = funded_user(10)
    client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    internal = [(m, p) for m, p in _served() if ROUTES[p] == INTERNAL]
    assert len(internal) == 4
    for method, path in internal:
        body = {"user_id": user.id, "amount": 1, "idempotency_key": "k", "invitee_id": user.id}
        signed_in = client.request(method, path, json=body)
        assert signed_in.status_code == 401, path
        for headers in (
            {"authorization": "Bearer wrong-secret-0123456789"},
            {"x-api-key": "wrong-secret-0123456789"},
            {"x-internal-token": "wrong-secret-0123456789"},
        ):
            assert client.request(method, path, json=body, headers=headers).status_code == 401


def _sign_in(http: httpx.Client, credits: int = 100):
    user = funded_user(credits)
    response = http.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    return user


def test_another_users_ids_are_404(client, new_client, sandbox):
    from tests.api.test_generation_api import _run_queue  # noqa: PLC0415 - the offline drain

    owner = new_client()
    _sign_in(owner)
    task = owner.post("/api/generate-image", json={"prompt": "a kite", "size": "512x512"})
    task_id = task.json()["task_id"]
    _run_queue()
    with db.read() as session:
        image_id = session.exec(
            TaskImage.__table__.select().where(TaskImage.task_id == task_id)  # type: ignore[attr-defined]
        ).first()[0]
    order_id = owner.post(
        "/api/payments/create", json={"amount": "1.00", "pay_type": "alipay"}
    ).json()["order_id"]
    session_id = owner.get("/api/auth/sessions").json()["sessions"][0]["id"]
    assert owner.post("/api/auth/reauth", json={"password": PASSWORD}).status_code == 200
    key = owner.post("/api/keys", json={"name": "ci", "scopes": ["read"]}).json()
    pending = owner.post("/api/generate-image", json={"prompt": "later", "size": "512x512"})
    edit = owner.post(
        "/api/generate-image/edits",
        data={"prompt": "autumn", "size": "512x512"},
        files={"image": ("a.png", picture(), "image/png")},
    )
    source_url = owner.get(f"/api/generate-image/{edit.json()['task_id']}").json()[
        "source_image_url"
    ]
    _sign_in(client)
    theirs = [
        ("GET", f"/api/generate-image/{task_id}", None),
        ("POST", "/api/generate-image/cancel", {"task_id": pending.json()["task_id"]}),
        ("GET", f"/api/images/{image_id}", None),
        ("GET", source_url, None),
        ("PUT", f"/api/generate-image/{task_id}/favourite", None),
        ("PUT", f"/api/images/{image_id}/share", None),
        ("GET", f"/api/generate-image/{task_id}/webhooks", None),
        ("DELETE", f"/api/generate-image/{task_id}", None),
        ("POST", f"/api/generate-image/{task_id}/retry", None),
        ("GET", f"/api/payments/{order_id}", None),
        ("POST", f"/api/payments/{order_id}/retry", None),
        ("DELETE", f"/api/auth/sessions/{session_id}", None),
        ("DELETE", f"/api/keys/{key['id']}", None),
    ]
    for method, path, body in theirs:
        response = client.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "not_found"
        if method == "GET":
            assert owner.get(path).status_code == 200, path  # it exists: only not theirs
    # The owner still has everything: the cancel and the revoke did nothing.
    assert (
        owner.get(f"/api/generate-image/{pending.json()['task_id']}").json()["status"]
        != "cancelled"
    )
    assert owner.get("/api/auth/me").status_code == 200
    assert [k["status"] for k in owner.get("/api/keys").json()] == ["active"]
    assert client.get("/api/keys").json() == []
    # Lists show only one's own. No user route takes an invite id: the overview is one's own.
    assert order_id not in client.get("/api/payments").text
    assert task_id not in [t.get("task_id", t.get("id")) for t in _tasks(client)]
    assert owner.get("/api/invites").json()["invitees"] == []


def _tasks(http: httpx.Client) -> list[dict[str, object]]:
    body = http.get("/api/generate-image").json()
    return body if isinstance(body, list) else body.get("tasks", [])
