"""Security headers, the Origin rule, request size limits, 500s and secrets kept out of logs."""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from imgapp.api import hardening
from imgapp.api.app import app as api_app
from imgapp.api.app import create_api
from imgapp.api.deps import require_same_origin
from imgapp.core.settings import get_settings
from imgapp.gateways import payment as payment_gateway
from imgapp.gateways import xorpay_sandbox as sandbox_gateway
from tests.api.test_isolation import ROUTES, all_routes
from tests.support.factories import PASSWORD, funded_user

TASK_KEY = "test-task-process-key-0123456789"
INTERNAL_KEY = "test-internal-api-key-0123456789"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_answer_carries_the_security_headers(client):
    for response in (
        client.get("/api/health"),
        client.get("/api/auth/me"),  # 401
        client.get("/api/no/such/route"),  # 404
        client.post("/api/auth/login", json={}),  # 400
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers


def test_hsts_when_the_site_is_https(client, configure):
    configure(SITE_URL="https://imgapp.example.com")
    response = client.get("/api/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "wss://imgapp.example.com" in hardening.page_policy()


def test_pages_allow_their_own_inline_scripts_by_hash_and_nothing_foreign(tmp_path: Path):
    script = b"window.__ctx = {a: 1};"
    (tmp_path / "index.html").write_bytes(
        b"<html><head><script>" + script + b"</script>"
        b'<script type="module" src="/assets/app.js"></script></head></html>'
    )
    app = create_api()
    app.mount("/", StaticFiles(directory=tmp_path, html=True))
    hardening.serve_pages_from(tmp_path)
    try:
        page = TestClient(app).get("/")
    finally:
        hardening.serve_pages_from(None)
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    assert "script-src 'self' 'unsafe-eval' 'sha256-" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "img-src 'self' data: blob:" in policy
    assert "connect-src 'self' ws://" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"


def test_nginx_maps_give_static_answers_the_headers_the_app_sends(tmp_path: Path, configure):
    configure(SITE_URL="https://imgapp.example.com")
    (tmp_path / "index.html").write_bytes(b"<html><script>boot(1)</script></html>")
    conf = hardening.nginx_headers(tmp_path)
    hardening.serve_pages_from(tmp_path)
    try:
        page = hardening.security_headers("/console", "text/html")
        asset = hardening.security_headers("/assets/a.js", "text/javascript")
    finally:
        hardening.serve_pages_from(None)
    for header in hardening.NGINX_HEADERS:
        block = conf.split(f"map $sent_http_content_type {hardening.nginx_variable(header)} {{")[1]
        block = block.split("}")[0]
        assert f'"~^text/html" "{page.get(header, "")}";' in block
        assert f'default "{asset.get(header, "")}";' in block
    digest = base64.b64encode(hashlib.sha256(b"boot(1)").digest()).decode()
    assert f"'sha256-{digest}'" in conf
    assert "wss://imgapp.example.com" in conf
    with pytest.raises(FileNotFoundError):
        hardening.nginx_headers(tmp_path / "missing")


def test_a_crash_answers_a_plain_500_with_headers_and_no_trace():
    app = create_api()

    @app.get("/test-crash")
    def crash() -> None:
        msg = "db password=hunter2 at /srv/imgapp/secret.py line 3"
        raise RuntimeError(msg)

    response = TestClient(app, raise_server_exceptions=False).get("/test-crash")
    assert response.status_code == 500
    assert response.json() == {"error": "Something went wrong. Please try again.", "code": "error"}
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


def test_every_cookie_state_changing_route_checks_the_origin():
    for route in all_routes(api_app):
        if not isinstance(route, APIRoute) or not (route.methods & STATE_CHANGING):
            continue
        kind = ROUTES[route.path]
        checks = [d.call for d in route.dependant.dependencies]
        cookie_or_sign_in = kind == "signed-in" or route.path.startswith("/api/auth/")
        if cookie_or_sign_in:
            by_key_or_cookie = any(getattr(c, "checks_origin", False) for c in checks)
            assert require_same_origin in checks or by_key_or_cookie, route.path


def test_a_signed_in_post_without_or_with_a_foreign_origin_is_403(client, api_server):
    user = funded_user(50)
    client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    cookie = {"imgapp_session": client.cookies["imgapp_session"]}
    with httpx.Client(base_url=api_server.url, cookies=cookie) as bare:
        for headers in ({}, {"origin": "https://evil.example"}, {"origin": "null"}):
            response = bare.post("/api/generate-image", json={"prompt": "a kite"}, headers=headers)
            assert response.status_code == 403, headers
            assert response.json()["code"] == "cross_site"
        # Without the cookie a script may leave Origin out (signing in).
        assert (
            httpx.post(
                api_server.url + "/api/auth/login",
                json={"email": user.email, "password": PASSWORD},
            ).status_code
            == 200
        )


def test_a_body_over_the_limit_is_413_before_it_is_read(client, configure):
    configure(MAX_BODY_BYTES="2048")
    big = {"email": "a@example.com", "password": "x" * 4000}
    response = client.post("/api/auth/register", json=big)
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert "2 KB" in response.json()["error"]
    assert response.headers["x-content-type-options"] == "nosniff"

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(10):
            yield b"x" * 512

    streamed = client.post(
        "/api/auth/register", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["code"] == "body_too_large"
    assert client.post("/api/auth/login", json={"email": "a@example.com"}).status_code == 400


def test_the_webhook_takes_at_most_64_kib(client):
    big = {"order_id": "x", "pad": "y" * (65 * 1024)}
    assert client.post("/api/payments/webhook", data=big).status_code == 413
    assert client.post("/api/payments/webhook", data={"order_id": "x"}).status_code == 400


@pytest.fixture
def sandbox(configure, api_server):
    configure(SITE_URL=api_server.url, XORPAY_AID="", XORPAY_APP_SECRET="", XORPAY_NOTIFY_URL="")
    sandbox_gateway.reset()
    yield api_server.url
    sandbox_gateway.reset()


def test_no_secret_reaches_the_log_during_a_whole_flow(client, sandbox, caplog, api_server):
    caplog.set_level(logging.DEBUG)
    password = "Tr0ub4dor&3-horse-staple"
    email = "flow@example.com"
    assert (
        client.post("/api/auth/register", json={"email": email, "password": password}).status_code
        == 201
    )
    client.post("/api/auth/logout")
    client.post("/api/auth/login", json={"email": email, "password": "not the password"})
    assert (
        client.post("/api/auth/login", json={"email": email, "password": password}).status_code
        == 200
    )
    token = client.cookies["imgapp_session"]
    order = client.post("/api/payments/create", json={"amount": "9.90", "pay_type": "alipay"})
    assert order.status_code == 201
    assert httpx.post(order.json()["qr"] + "/pay").status_code == 200  # signed webhook
    forged = client.post(
        "/api/payments/webhook", data={"order_id": order.json()["order_id"], "sign": "bad"}
    )
    assert forged.status_code == 400
    task = client.post("/api/generate-image", json={"prompt": "a lighthouse", "size": "512x512"})
    assert task.status_code == 202
    processed = client.post("/api/tasks/process", headers={"authorization": f"Bearer {TASK_KEY}"})
    assert processed.status_code == 200
    deducted = client.post(
        "/api/billing/deduct",
        headers={"authorization": f"Bearer {INTERNAL_KEY}"},
        json={"user_id": 1, "amount": 1, "idempotency_key": "flow-1", "reason": "test"},
    )
    assert deducted.status_code in {200, 402}
    time.sleep(0.5)  # the processor thread's last lines
    settings = get_settings()
    secrets = {
        "session token": token,
        "SESSION_SECRET": settings.session_secret.get_secret_value(),
        "INTERNAL_API_KEY": INTERNAL_KEY,
        "TASK_PROCESS_SECRET_KEY": TASK_KEY,
        "sandbox XorPay secret": payment_gateway.sandbox_secret(settings),
        "password": password,
    }
    # httpcore's DEBUG wire trace is this test's own client printing its cookies (the server
    # shares the process); the app never turns it on (IMGAPP_LOG_LEVEL is for imgapp's loggers).
    records = [r for r in caplog.records if not r.name.startswith("httpcore")]
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in records)
    assert any(r.name.startswith("imgapp") for r in records) or records
    assert len(caplog.records) > 0
    leaked = [name for name, value in secrets.items() if value and value in logged]
    assert leaked == []
