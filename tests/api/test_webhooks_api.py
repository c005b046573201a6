"""Task webhooks end to end: over HTTP, through the worker's sender, to a verifying receiver.

The receiver on loopback checks every signature as a Standard Webhooks
consumer would; retries keep their id; every message is in the task's log.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from imgapp.core import db
from imgapp.gateways.providers import LocalProvider
from imgapp.models import WebhookDelivery
from imgapp.models.base import utcnow
from imgapp.services import ledger
from imgapp.worker.processor import Processor
from imgapp.worker.webhooks import Sender
from tests.api.test_generation_api import _signed_in, _submit
from tests.support import aio
from tests.support.factories import PASSWORD
from tests.support.webhook_receiver import Receiver, serve


@pytest.fixture
def receiver(configure):
    configure(WEBHOOK_ALLOW_PRIVATE_URLS="true")  # the receiver is on loopback
    got = Receiver()
    server = serve(got)
    got.url = server.url + "/hook"  # type: ignore[attr-defined]
    yield got
    server.stop()


def _drain(seconds_per_image: float = 0.0) -> None:
    """Run every queued task here (progress spread over `seconds_per_image`)."""

    async def drain() -> None:
        processor = Processor(provider_factory=lambda: LocalProvider(seconds_per_image))
        for _ in range(1000):
            claimed = await processor.poll_once()
            if not claimed and not processor.busy:
                return
            await asyncio.sleep(0.02)

    aio.run(drain())


def _send() -> int:
    """Sender rounds until nothing is due; how many tries in all."""

    async def rounds() -> int:
        sender = Sender()
        tried = 0
        try:
            while sent := await sender.round():
                tried += sent
        finally:
            await sender.close()
        return tried

    return aio.run(rounds())


def _due_now() -> None:
    with db.transaction() as session:
        session.exec(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.status) == "pending")
            .values(next_attempt_at=utcnow())
        )


def test_start_progress_and_completed_arrive_signed_with_the_owners_secret(client, receiver):
    _signed_in(client)
    receiver.secret = client.get("/api/webhooks/secret").json()["secret"]
    assert receiver.secret.startswith("whsec_")
    accepted = _submit(
        client,
        size="512x512",
        webhook_url=receiver.url,
        webhook_events=["start", "progress", "completed"],
    )
    assert accepted.status_code == 202  # answered at once: nothing was sent yet
    assert receiver.received == []
    task_id = accepted.json()["task_id"]
    shown = client.get(f"/api/generate-image/{task_id}").json()
    assert shown["webhook_url"] == receiver.url
    assert shown["webhook_events"] == ["start", "progress", "completed"]
    _drain(seconds_per_image=2.0)
    _send()
    events = [r.event for r in receiver.received]
    assert events[0] == "start"
    assert events[-1] == "completed"
    assert events.count("progress") >= 2  # one at most every 500 ms while it ran
    assert all(r.verified for r in receiver.received)
    assert len({r.webhook_id for r in receiver.received}) == len(receiver.received)
    done = receiver.received[-1].body
    assert done["data"]["task_id"] == task_id
    assert done["data"]["status"] == "completed"
    assert done["data"]["images"][0]["url"].startswith("http")
    progress = [p.body["data"]["progress"] for p in receiver.received if p.event == "progress"]
    assert progress == sorted(progress)
    log = client.get(f"/api/generate-image/{task_id}/webhooks").json()
    assert [d["event"] for d in log] == events
    assert {d["status"] for d in log} == {"delivered"}


def test_a_failing_receiver_is_retried_with_the_same_id_until_it_answers(client, receiver):
    _signed_in(client)
    receiver.secret = client.get("/api/webhooks/secret").json()["secret"]
    receiver.answers = [500, 503, 204]
    task_id = _submit(client, size="512x512", webhook_url=receiver.url).json()["task_id"]
    _drain()
    assert _send() == 1
    [log] = client.get(f"/api/generate-image/{task_id}/webhooks").json()
    assert (log["status"], log["attempts"], log["last_status_code"]) == ("pending", 1, 500)
    assert log["last_error"] == "HTTP 500"
    assert log["next_attempt_at"] is not None
    assert _send() == 0  # not due yet: it backs off
    _due_now()
    _send()
    _due_now()
    _send()
    [log] = client.get(f"/api/generate-image/{task_id}/webhooks").json()
    assert (log["status"], log["attempts"], log["last_status_code"]) == ("delivered", 3, 204)
    assert len(receiver.received) == 3
    assert len({r.webhook_id for r in receiver.received}) == 1  # one message, three tries
    assert len({r.headers["webhook-timestamp"] for r in receiver.received}) >= 1
    assert all(r.verified for r in receiver.received)
    assert {r.body["timestamp"] for r in receiver.received} == {
        receiver.received[0].body["timestamp"]
    }  # the body is the same on every try


def test_a_tasks_messages_arrive_in_order_even_when_the_first_is_retried(client, receiver):
    _signed_in(client)
    receiver.answers = [500, 200]
    task_id = _submit(
        client, size="512x512", webhook_url=receiver.url, webhook_events=["start", "completed"]
    ).json()["task_id"]
    _drain()
    _send()
    assert [r.event for r in receiver.received] == ["start"]  # `completed` waits behind it
    _due_now()
    _send()
    assert [r.event for r in receiver.received] == ["start", "start", "completed"]
    log = client.get(f"/api/generate-image/{task_id}/webhooks").json()
    assert [(d["event"], d["status"], d["attempts"]) for d in log] == [
        ("start", "delivered", 2),
        ("completed", "delivered", 1),
    ]


def test_a_receiver_that_does_not_answer_in_time_counts_as_a_failed_try(
    client, receiver, configure
):
    configure(WEBHOOK_TIMEOUT_SECONDS="1")
    _signed_in(client)
    receiver.delay = 3
    task_id = _submit(client, size="512x512", webhook_url=receiver.url).json()["task_id"]
    _drain()
    _send()
    [log] = client.get(f"/api/generate-image/{task_id}/webhooks").json()
    assert (log["status"], log["last_status_code"]) == ("pending", None)
    assert log["last_error"] == "no answer within 1 s"


def test_retries_stop_after_the_retry_window_and_the_message_fails(client, receiver):
    _signed_in(client)
    receiver.answers = [500]
    task_id = _submit(client, size="512x512", webhook_url=receiver.url).json()["task_id"]
    _drain()
    with db.transaction() as session:
        session.exec(
            update(WebhookDelivery).values(created_at=utcnow() - timedelta(hours=24, seconds=-2))
        )
    _send()
    [log] = client.get(f"/api/generate-image/{task_id}/webhooks").json()
    assert (log["status"], log["attempts"]) == ("failed", 1)


def test_a_cancelled_task_reports_completed_with_its_status(client, receiver):
    _signed_in(client)
    receiver.secret = client.get("/api/webhooks/secret").json()["secret"]
    task_id = _submit(client, size="512x512", webhook_url=receiver.url).json()["task_id"]
    client.post("/api/generate-image/cancel", json={"task_id": task_id})
    _send()
    [got] = receiver.received
    assert got.verified
    assert (got.event, got.body["data"]["status"], got.body["data"]["refunded"]) == (
        "completed",
        "cancelled",
        4,  # 512x512, all of it back
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"webhook_url": "ftp://example.com/hook"}, "webhook_url_invalid"),
        ({"webhook_url": "not a url"}, "webhook_url_invalid"),
        ({"webhook_url": "https://hooks.example/a\u0001b"}, "webhook_url_invalid"),
        ({"webhook_url": "https://hooks.example/a b"}, "webhook_url_invalid"),
        ({"webhook_url": "http://127.0.0.1:9/hook"}, "webhook_url_private"),
        ({"webhook_url": "http://[::1]/hook"}, "webhook_url_private"),
        ({"webhook_url": "http://169.254.169.254/latest"}, "webhook_url_private"),
        ({"webhook_url": "http://10.1.2.3/hook"}, "webhook_url_private"),
        ({"webhook_url": "https://localhost/hook"}, "webhook_url_private"),
        ({"webhook_url": "https://build.internal/hook"}, "webhook_url_private"),
        ({"webhook_url": "https://example.com/" + "x" * 2001}, "webhook_url_too_long"),
        ({"webhook_url": "https://a.example/h", "webhook_events": ["x"]}, "webhook_events_unknown"),
        ({"webhook_events": ["completed"]}, "webhook_events_without_url"),
    ],
)
def test_a_bad_webhook_is_400_and_charges_nothing(client, body, code):
    user = _signed_in(client)
    response = _submit(client, size="512x512", **body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert db.call_read(ledger.balance, user_id=user.id) == 100


def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery(
    client, receiver, configure
):
    _signed_in(client)
    hook = receiver.url.replace("127.0.0.1", "localhost")
    task_id = _submit(client, size="512x512", webhook_url=hook).json()["task_id"]
    configure(WEBHOOK_ALLOW_PRIVATE_URLS="false")  # production: private targets are refused
    _drain()
    _send()
    [log] = client.get(f"/api/generate-image/{task_id}/webhooks").json()
    assert (log["status"], log["attempts"]) == ("failed", 1)
    assert "refused" in log["last_error"]
    assert receiver.received == []


def test_rotating_the_secret_needs_a_reauthentication_and_signs_from_then_on(client, receiver):
    _signed_in(client)
    old = client.get("/api/webhooks/secret").json()["secret"]
    refused = client.post("/api/webhooks/secret/rotate")
    assert refused.status_code == 403
    assert refused.json()["code"] == "reauth_required"
    assert client.post("/api/auth/reauth", json={"password": PASSWORD}).status_code == 200
    new = client.post("/api/webhooks/secret/rotate").json()["secret"]
    assert new != old
    assert client.get("/api/webhooks/secret").json()["secret"] == new
    receiver.secret = new
    _submit(client, size="512x512", webhook_url=receiver.url)
    _drain()
    _send()
    assert [r.verified for r in receiver.received] == [True]
    events = client.get("/api/audit").json()
    assert "webhook_secret_rotated" in str(events)


def test_an_api_key_cannot_read_the_secret_but_reads_the_log(client, new_client):
    _signed_in(client)
    assert client.post("/api/auth/reauth", json={"password": PASSWORD}).status_code == 200
    key = client.post("/api/keys", json={"name": "ci", "scopes": ["read", "generate"]}).json()
    script = new_client()  # no session: the key alone
    script.headers["Authorization"] = f"Bearer {key['key']}"
    answer = script.get("/api/webhooks/secret")
    assert answer.status_code in {401, 403}
    assert "whsec_" not in answer.text
    task_id = script.post(
        "/api/generate-image",
        json={"prompt": "a kite", "size": "512x512", "webhook_url": "https://hooks.example/x"},
    ).json()["task_id"]
    assert script.get(f"/api/generate-image/{task_id}/webhooks").json() == []
