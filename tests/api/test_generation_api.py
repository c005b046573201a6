"""`/api/generate-image`, `/api/images`, `/api/tasks/process` over HTTP."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from imgapp.core import db
from imgapp.gateways.providers import LocalProvider
from imgapp.services import heartbeats, ledger
from imgapp.state import standings
from imgapp.worker.processor import Processor
from tests.support import aio
from tests.support.factories import PASSWORD, funded_user

TASK_KEY = "test-task-process-key-0123456789"


def _signed_in(client: httpx.Client, credits: int = 100):
    user = funded_user(credits)
    assert (
        client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).status_code
        == 200
    )
    return user


def _submit(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post("/api/generate-image", json={"prompt": "a red kite", **body})


def _run_queue() -> None:
    """Process every queued task in this process, with an instant offline renderer."""

    async def drain() -> None:
        processor = Processor(provider_factory=lambda: LocalProvider(0))
        for _ in range(500):
            claimed = await processor.poll_once()
            if not claimed and not processor.busy:
                return
            await asyncio.sleep(0.02)

    aio.run(drain())


def test_submit_is_202_with_cost_and_balance(client):
    user = _signed_in(client)
    response = _submit(client, size="512x512", n=2)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert body["cost"] == 8
    assert body["balance"] == 92
    assert db.call_read(ledger.balance, user_id=user.id) == 92


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"prompt": ""}, "prompt_required"),
        ({"prompt": "x" * 4001}, "prompt_too_long"),
        ({"n": 0}, "image_count_range"),
        ({"n": 5}, "image_count_range"),
        ({"size": "123x456"}, "size_unknown"),
        ({"model": "nope"}, "model_unknown"),
        ({"request_id": "r" * 65}, "request_id_invalid"),
    ],
)
def test_bad_requests_are_400_with_a_message_and_charge_nothing(client, body, code):
    user = _signed_in(client)
    response = _submit(client, **body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["error"]
    assert db.call_read(ledger.balance, user_id=user.id) == 100


def test_not_enough_credits_is_402_and_no_task(client):
    _signed_in(client, credits=3)
    response = _submit(client, size="512x512")
    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_credits"
    assert client.get("/api/generate-image").json() == []


def test_the_same_request_id_twice_is_one_task_charged_once(client):
    user = _signed_in(client)
    first = _submit(client, size="512x512", request_id="double-click")
    second = _submit(client, size="512x512", request_id="double-click")
    assert first.json()["task_id"] == second.json()["task_id"]
    assert db.call_read(ledger.balance, user_id=user.id) == 96


def test_signed_out_callers_get_401(client):
    assert _submit(client).status_code == 401
    assert client.get("/api/generate-image/1").status_code == 401
    assert client.post("/api/generate-image/cancel", json={"task_id": 1}).status_code == 401


def test_task_json_and_images_after_processing(client):
    _signed_in(client)
    task_id = _submit(client, size="512x512", n=2).json()["task_id"]
    _run_queue()
    task = client.get(f"/api/generate-image/{task_id}").json()
    assert task["status"] == "completed"
    assert task["progress"] == 100
    assert task["provider"] == "local"
    assert task["finished_at"]
    assert [i["url"] for i in task["images"]] == [f"/api/images/{i['id']}" for i in task["images"]]
    picture = client.get(task["images"][0]["url"])
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG")
    download = client.get(task["images"][0]["url"] + "?download=1")
    assert download.headers["content-disposition"].startswith("attachment")


def test_other_users_get_404_for_tasks_and_images(client, new_client):
    _signed_in(client)
    task_id = _submit(client, size="512x512").json()["task_id"]
    _run_queue()
    image_url = client.get(f"/api/generate-image/{task_id}").json()["images"][0]["url"]
    stranger = new_client()
    _signed_in(stranger)
    assert stranger.get(f"/api/generate-image/{task_id}").status_code == 404
    assert stranger.get(image_url).status_code == 404
    assert stranger.post("/api/generate-image/cancel", json={"task_id": task_id}).status_code == 404
    assert client.get("/api/images/999999").status_code == 404


def test_cancel_refunds_and_a_second_cancel_is_409(client):
    user = _signed_in(client)
    task_id = _submit(client, size="512x512").json()["task_id"]
    response = client.post("/api/generate-image/cancel", json={"task_id": task_id})
    assert response.json() == {"status": "cancelled", "refunded": 4}
    assert db.call_read(ledger.balance, user_id=user.id) == 100
    again = client.post("/api/generate-image/cancel", json={"task_id": task_id})
    assert again.status_code == 409
    assert again.json()["code"] == "task_finished"
    assert db.call_read(ledger.balance, user_id=user.id) == 100


def test_cancel_needs_a_task_id(client):
    _signed_in(client)
    response = client.post("/api/generate-image/cancel", json={})
    assert response.status_code == 400
    assert "task_id" in response.json()["error"]


def test_process_needs_the_task_secret(client):
    assert client.post("/api/tasks/process").status_code == 401
    assert (
        client.post("/api/tasks/process", headers={"authorization": "Bearer wrong"}).status_code
        == 401
    )
    for headers in ({"authorization": f"Bearer {TASK_KEY}"}, {"x-api-key": TASK_KEY}):
        response = client.post("/api/tasks/process", headers=headers)
        assert response.status_code == 200
        assert set(response.json()) == {"claimed", "running", "worker_id"}


def test_a_waiting_task_shows_its_place_and_eta_and_a_finished_one_neither(client, new_client):
    _signed_in(client, credits=1000)
    measured = _submit(client, size="512x512").json()["task_id"]
    _run_queue()  # one completion of this kind: a duration to estimate from
    standings.forget_durations()  # as the app's live bridge does on hearing it
    db.call(heartbeats.beat, worker_id="api-test", kind="in_app", slots=1)
    first = _submit(client, size="512x512").json()["task_id"]
    second = _submit(client, size="512x512").json()["task_id"]
    one = client.get(f"/api/generate-image/{second}").json()
    assert one["queue_position"] == 2
    assert one["eta_seconds"] is not None
    assert one["eta_seconds"] >= 1
    listed = {t["task_id"]: t for t in client.get("/api/generate-image").json()}
    assert listed[first]["queue_position"] == 1
    assert listed[measured]["queue_position"] is None
    assert listed[measured]["eta_seconds"] is None
    stranger = new_client()
    _signed_in(stranger)
    assert stranger.get(f"/api/generate-image/{second}").status_code == 404


def test_over_the_waiting_cap_a_submit_is_429_says_why_and_charges_nothing(client, configure):
    configure(TASK_MAX_QUEUED_PER_USER="2")
    user = _signed_in(client)
    assert _submit(client, size="512x512").status_code == 202
    assert _submit(client, size="512x512").status_code == 202
    refused = client.post(
        "/api/generate-image",
        json={"prompt": "a red kite", "size": "512x512"},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 429
    assert refused.json()["code"] == "queue_full"
    assert "2 tasks waiting" in refused.json()["error"]
    assert db.call_read(ledger.balance, user_id=user.id) == 100 - 2 * 4
    assert len(client.get("/api/generate-image").json()) == 2
