"""Liveness, readiness (and what it names when something is wrong), metrics, JSON logs."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update
from sqlmodel import col, select

from imgapp.core import db, logs
from imgapp.core.settings import get_settings
from imgapp.flows import tasks as task_flow
from imgapp.models import Task, WorkerHeartbeat
from imgapp.models.base import utcnow
from imgapp.services import heartbeats
from imgapp.services.generation import Params
from imgapp.worker import entry
from imgapp.worker.processor import Processor
from tests.support import aio
from tests.support.factories import PASSWORD, funded_user
from tests.support.net import free_port

INTERNAL_KEY = "test-internal-api-key-0123456789"
SECRET = {"authorization": f"Bearer {INTERNAL_KEY}"}


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def no_processor_expected(configure) -> None:
    """A deployment whose processors are standalone, none of them required."""
    configure(TASK_PROCESSOR_IN_APP="false", READY_MIN_WORKERS="0")


@pytest.fixture
def unreachable_database(engine) -> Iterator[None]:
    """The process's engine points at a closed port (nothing listens there)."""
    dead = db.make_engine(f"postgresql://imgapp:x@127.0.0.1:{free_port()}/imgapp")
    db.use_engine(dead)
    yield
    db.use_engine(engine)  # type: ignore[arg-type]
    dead.dispose()


def _ready(client: httpx.Client) -> httpx.Response:
    return client.get("/api/health/ready")


def test_liveness_needs_no_database(client, unreachable_database):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_every_check_passes(client, no_processor_expected):
    response = _ready(client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "redis", "event_bus", "processors", "queue"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert body["checks"]["queue"]["depth"] == 0


def test_ready_names_the_database_when_it_is_unreachable(
    client, no_processor_expected, unreachable_database
):
    response = _ready(client)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["failing"] == ["database"]
    assert body["checks"]["database"]["status"] == "failing"
    assert body["checks"]["queue"]["status"] == "not_checked"
    assert "imgapp:x" not in response.text  # the URL's credentials stay out of the answer


def test_ready_names_the_redis_it_cannot_reach(client, configure, no_processor_expected):
    configure(REDIS_URL=f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0")
    response = _ready(client)
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]
    assert "hunter2" not in response.text


def _age(worker_id: str, seconds: float) -> None:
    db.call(
        lambda session: session.execute(
            update(WorkerHeartbeat)
            .where(col(WorkerHeartbeat.worker_id) == worker_id)
            .values(last_seen_at=utcnow() - timedelta(seconds=seconds))
        )
    )


def test_ready_names_a_standalone_processor_whose_heartbeat_is_stale(client, configure):
    configure(TASK_PROCESSOR_IN_APP="false", READY_MIN_WORKERS="1")
    assert _ready(client).json()["failing"] == ["processors"]  # none has ever beaten
    db.call(heartbeats.beat, worker_id="host:1:w", kind=heartbeats.STANDALONE)
    assert _ready(client).status_code == 200
    _age("host:1:w", get_settings().ready_max_heartbeat_age_seconds + 5)
    response = _ready(client)
    assert response.status_code == 503
    assert response.json()["failing"] == ["processors"]
    assert "READY_MIN_WORKERS" in response.json()["checks"]["processors"]["detail"]


def test_ready_names_the_in_app_processor_when_it_stops_polling(client, configure, monkeypatch):
    configure(TASK_PROCESSOR_IN_APP="true")
    processor = Processor(worker_id="app:1:in")
    monkeypatch.setattr(entry, "_in_app", processor)
    monkeypatch.setattr(entry, "_in_app_scheduled", True)
    assert "never polled" in _ready(client).json()["checks"]["processors"]["detail"]
    aio.run(processor.poll_once())  # one poll: one heartbeat
    assert _ready(client).status_code == 200
    _age("app:1:in", get_settings().ready_max_heartbeat_age_seconds + 5)
    response = _ready(client)
    assert response.status_code == 503
    assert response.json()["failing"] == ["processors"]
    aio.run(processor.shutdown())  # a clean stop forgets the heartbeat
    assert db.call_read(heartbeats.last_seen, worker_id="app:1:in") is None


def test_ready_names_the_queue_when_the_oldest_pending_task_waits_too_long(
    client, configure, no_processor_expected
):
    configure(READY_MAX_QUEUE_AGE_SECONDS="60")
    user = funded_user(100)
    outcome = task_flow.submit(
        user_id=user.id, params=Params(prompt="a kite", size="512x512"), provider="local"
    )
    assert _ready(client).status_code == 200  # it just arrived
    db.call(
        lambda session: session.execute(
            update(Task)
            .where(col(Task.id) == outcome.task_id)
            .values(created_at=utcnow() - timedelta(seconds=120))
        )
    )
    response = _ready(client)
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["queue"]
    assert body["checks"]["queue"]["depth"] == 1
    assert body["checks"]["queue"]["oldest_pending_age_seconds"] >= 120


def test_metrics_need_the_internal_secret(client):
    assert client.get("/api/metrics").status_code == 401
    assert client.get("/api/metrics", headers={"x-api-key": "wrong-0123456789"}).status_code == 401
    user = funded_user(1)
    client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert client.get("/api/metrics").status_code == 401  # a session is not the secret
    response = client.get("/api/metrics", headers=SECRET)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "imgapp_queue_depth 0.0" in response.text


def test_requests_are_counted_by_route_template(client):
    labels = {"route": "/api/payments/{order_id}", "method": "GET", "status": "401"}
    before = _value("imgapp_http_requests_total", **labels)
    client.get("/api/payments/IMG-1")
    client.get("/api/payments/IMG-2")
    assert _value("imgapp_http_requests_total", **labels) == before + 2
    text = client.get("/api/metrics", headers=SECRET).text
    assert 'route="/api/payments/{order_id}"' in text
    assert "IMG-1" not in text
    assert "imgapp_http_request_duration_seconds_bucket" in text


def test_a_finished_task_and_its_charge_are_counted(client):
    from tests.api.test_generation_api import _run_queue  # noqa: PLC0415 - the offline drain

    user = funded_user(100)
    client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    charges = _value("imgapp_ledger_movements_total", kind="charge")
    submitted = client.post("/api/generate-image", json={"prompt": "a kite", "size": "512x512"})
    assert submitted.status_code == 202
    assert _value("imgapp_ledger_movements_total", kind="charge") == charges + 1
    with db.read() as session:
        provider = session.exec(
            select(Task.provider).where(Task.id == submitted.json()["task_id"])
        ).one()
    done = {"provider": provider, "outcome": "completed"}
    before = _value("imgapp_task_duration_seconds_count", **done)
    _run_queue()
    assert _value("imgapp_task_duration_seconds_count", **done) == before + 1


def test_a_charge_from_another_server_is_counted(client):
    user = funded_user(10)
    charges = _value("imgapp_ledger_movements_total", kind="charge")
    body = {"user_id": user.id, "amount": 3, "idempotency_key": "obs-1", "reason": "test"}
    assert client.post("/api/billing/deduct", headers=SECRET, json=body).status_code == 200
    assert client.post("/api/billing/deduct", headers=SECRET, json=body).status_code == 200
    assert _value("imgapp_ledger_movements_total", kind="charge") == charges + 1  # replay: once
    refused = {**body, "amount": 100, "idempotency_key": "obs-2"}
    assert client.post("/api/billing/deduct", headers=SECRET, json=refused).status_code == 402
    assert _value("imgapp_ledger_movements_total", kind="charge") == charges + 1


def test_a_paid_sandbox_order_is_counted(client, sandbox):
    user = funded_user(0)
    client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    paid = _value("imgapp_payments_total", outcome="paid")
    recharges = _value("imgapp_ledger_movements_total", kind="recharge")
    rejected = _value("imgapp_payments_total", outcome="rejected")
    order = client.post("/api/payments/create", json={"amount": "1.00", "pay_type": "alipay"})
    assert order.status_code == 201
    assert httpx.post(order.json()["qr"] + "/pay").status_code == 200
    assert httpx.post(order.json()["qr"] + "/pay").status_code == 200  # a replay
    assert _value("imgapp_payments_total", outcome="paid") == paid + 1
    assert _value("imgapp_ledger_movements_total", kind="recharge") == recharges + 1
    forged = {"order_id": order.json()["order_id"], "sign": "bad"}
    assert client.post("/api/payments/webhook", data=forged).status_code == 400
    assert _value("imgapp_payments_total", outcome="rejected") == rejected + 1
    text = client.get("/api/metrics", headers=SECRET).text
    assert 'imgapp_payments_total{outcome="paid"}' in text


@pytest.fixture
def json_log(configure) -> Iterator[io.StringIO]:
    """Imgapp's log lines as LOG_FORMAT=json writes them, into a buffer."""
    configure(LOG_FORMAT="json")
    buffer = io.StringIO()
    handler = logs.handler(get_settings(), stream=buffer)
    imgapp_log = logging.getLogger("imgapp")
    level = imgapp_log.level
    imgapp_log.addHandler(handler)
    imgapp_log.setLevel(logging.INFO)
    yield buffer
    imgapp_log.removeHandler(handler)
    imgapp_log.setLevel(level)


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def _lines_with_id(buffer: io.StringIO, request_id: str) -> list[dict[str, object]]:
    """The lines naming `request_id`, waited for until its access line is there.

    The server thread writes the access line after the answer's last byte, so
    the client can read the answer first.
    """
    deadline = time.monotonic() + 5
    while True:
        found = [line for line in _lines(buffer) if line.get("request_id") == request_id]
        if any(line["logger"] == "imgapp.access" for line in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def test_json_log_lines_carry_the_request_id_that_the_answer_names(client, json_log):
    response = client.get("/api/auth/me", headers={"x-request-id": "req-42.a"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "req-42.a"
    lines = _lines_with_id(json_log, "req-42.a")
    assert lines, json_log.getvalue()
    access = next(line for line in lines if line["logger"] == "imgapp.access")
    assert access["level"] == "INFO"
    assert access["route"] == "/api/auth/me"
    assert access["status"] == 401
    assert {"time", "message"} <= set(access)


def test_an_unusable_request_id_is_replaced(client, json_log):
    response = client.get("/api/health", headers={"x-request-id": "no spaces; or <tags>"})
    made = response.headers["x-request-id"]
    assert made != "no spaces; or <tags>"
    assert len(made) == 32
    assert _lines_with_id(json_log, made), json_log.getvalue()
    other = client.get("/api/health").headers["x-request-id"]
    assert other != made


def test_with_the_database_down_routes_answer_503_with_retry_after(client, unreachable_database):
    client.cookies.set("imgapp_session", "a-session-token-that-must-be-looked-up")
    response = client.get("/api/auth/me", headers={"accept-language": "zh-CN"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"error": "服务暂时不可用，请稍后重试。", "code": "unavailable"}
