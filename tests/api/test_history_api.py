"""The history over HTTP: search, filters, pages, favourites, delete (ledger untouched), retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from imgapp.core import db
from imgapp.gateways import image_files
from imgapp.models import LedgerEntry, Task, TaskImage
from imgapp.models.base import utcnow
from imgapp.services import ledger
from tests.api.test_generation_api import _run_queue, _signed_in, _submit
from tests.support.factories import count_rows
from tests.support.pictures import mask, picture


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [t["task_id"] for t in response.json()]


def _made(client, prompts_sizes: list[tuple[str, str]]) -> list[int]:
    return [_submit(client, prompt=p, size=s).json()["task_id"] for p, s in prompts_sizes]


def test_search_and_filters_find_what_they_say_newest_first_with_a_total(client):
    _signed_in(client, credits=500)
    kite, harbour, kites, sea = _made(
        client,
        [
            ("A red KITE over the dunes", "512x512"),
            ("a quiet harbour", "1024x1024"),
            ("two kites, red and blue", "512x512"),
            ("the sea at 100% calm_ness", "512x512"),
        ],
    )
    client.post("/api/generate-image/cancel", json={"task_id": harbour})
    _run_queue()
    assert _ids(client.get("/api/generate-image", params={"q": "kite"})) == [kites, kite]
    assert _ids(client.get("/api/generate-image", params={"q": "RED kite"})) == [kites, kite]
    assert _ids(client.get("/api/generate-image", params={"q": "red dunes"})) == [kite]
    assert _ids(client.get("/api/generate-image", params={"q": "100%"})) == [sea]
    assert _ids(client.get("/api/generate-image", params={"q": "_"})) == [sea]  # no wildcard
    assert _ids(client.get("/api/generate-image", params={"status": "cancelled"})) == [harbour]
    assert _ids(client.get("/api/generate-image", params={"size": "1024x1024"})) == [harbour]
    assert _ids(client.get("/api/generate-image", params={"model": "gpt-image-1"})) == [
        sea,
        kites,
        harbour,
        kite,
    ]
    assert _ids(client.get("/api/generate-image", params={"model": "dall-e-2"})) == []
    # Dates are the account's local days; `to` is not included.
    with db.transaction() as session:
        session.exec(
            update(Task).where(col(Task.id) == kite).values(created_at=utcnow() - timedelta(days=3))
        )
    today = (utcnow() + timedelta(hours=8)).date()  # Asia/Shanghai, the default zone
    window = {"from": str(today - timedelta(days=4)), "to": str(today - timedelta(days=1))}
    assert _ids(client.get("/api/generate-image", params=window)) == [kite]
    # Pages: the total in a header, the neighbours in Link.
    first = client.get("/api/generate-image", params={"limit": 3})
    assert _ids(first) == [sea, kites, harbour]
    assert first.headers["X-Total-Count"] == "4"
    assert 'rel="next"' in first.headers["Link"]
    assert "prev" not in first.headers["Link"]
    second = client.get("/api/generate-image", params={"limit": 3, "page": 2})
    assert _ids(second) == [kite]
    assert 'rel="prev"' in second.headers["Link"]
    assert 'rel="next"' not in second.headers["Link"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "done"}, "status"),
        ({"size": "1x1"}, "size"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"from": "2026-11-01"}, "to"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "to"),
        ({"favourite": "maybe"}, "favourite"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_a_bad_filter_is_400_naming_it(client, params, field):
    _signed_in(client)
    response = client.get("/api/generate-image", params=params)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["error"]


def test_favourites_are_starred_and_unstarred_by_their_owner_only(client, new_client):
    _signed_in(client)
    first, second = _made(client, [("a kite", "512x512"), ("a boat", "512x512")])
    assert client.put(f"/api/generate-image/{first}/favourite").json() == {
        "task_id": first,
        "favourite": True,
    }
    assert _ids(client.get("/api/generate-image", params={"favourite": "true"})) == [first]
    assert client.get(f"/api/generate-image/{first}").json()["favourite"] is True
    stranger = new_client()
    _signed_in(stranger)
    assert stranger.put(f"/api/generate-image/{second}/favourite").status_code == 404
    assert stranger.delete(f"/api/generate-image/{first}/favourite").status_code == 404
    assert client.delete(f"/api/generate-image/{first}/favourite").json()["favourite"] is False
    assert _ids(client.get("/api/generate-image", params={"favourite": "true"})) == []


def test_deleting_removes_the_task_and_its_files_and_leaves_the_ledger_as_it_was(
    client, new_client
):
    user = _signed_in(client)
    done, waiting = _made(client, [("a kite", "512x512"), ("a boat", "512x512")])
    _run_queue()
    waiting_again = _submit(client, prompt="later", size="512x512").json()["task_id"]
    with db.read() as session:
        paths = [i.path for i in session.exec(db_select_images(done))]
    assert paths
    assert all(image_files.locate(p).is_file() for p in paths)
    balance, entries = db.call_read(ledger.balance, user_id=user.id), _entries(user.id)
    report = client.get("/api/usage/report").json()["totals"]

    assert client.delete(f"/api/generate-image/{waiting_again}").status_code == 409
    assert client.delete(f"/api/generate-image/{waiting_again}").json()["code"] == "task_active"
    stranger = new_client()
    _signed_in(stranger)
    assert stranger.delete(f"/api/generate-image/{done}").status_code == 404

    assert client.delete(f"/api/generate-image/{done}").status_code == 204
    assert not any(image_files.locate(p).exists() for p in paths)
    assert client.get(f"/api/generate-image/{done}").status_code == 404
    assert client.delete(f"/api/generate-image/{done}").status_code == 404
    assert done not in _ids(client.get("/api/generate-image"))
    assert waiting in _ids(client.get("/api/generate-image"))
    assert count_rows(TaskImage) == 1  # the other finished task's
    assert db.call_read(ledger.balance, user_id=user.id) == balance
    assert _entries(user.id) == entries
    assert client.get("/api/usage/report").json()["totals"] == report


def _entries(user_id: int) -> list[tuple[object, ...]]:
    """Every ledger entry of the user, as stored."""
    with db.read() as session:
        found = session.exec(
            select(LedgerEntry).where(col(LedgerEntry.user_id) == user_id).order_by(LedgerEntry.id)
        )
        return [tuple(e.model_dump().values()) for e in found]


def db_select_images(task_id: int):
    """The image rows of a task."""
    return select(TaskImage).where(col(TaskImage.task_id) == task_id)


def test_retry_runs_a_cancelled_or_failed_task_again_charged_anew_and_an_edit_from_its_upload(
    client, new_client
):
    user = _signed_in(client)
    cancelled = _submit(client, prompt="a lighthouse", size="512x512", n=2).json()["task_id"]
    client.post("/api/generate-image/cancel", json={"task_id": cancelled})
    assert db.call_read(ledger.balance, user_id=user.id) == 100
    again = client.post(f"/api/generate-image/{cancelled}/retry", json={"request_id": "r-1"})
    assert again.status_code == 202
    assert (again.json()["cost"], again.json()["balance"]) == (8, 92)
    twice = client.post(f"/api/generate-image/{cancelled}/retry", json={"request_id": "r-1"})
    assert twice.json()["task_id"] == again.json()["task_id"]  # one task for one request id
    new = client.get(f"/api/generate-image/{again.json()['task_id']}").json()
    assert (new["prompt"], new["size"], new["n"]) == ("a lighthouse", "512x512", 2)
    _run_queue()
    done = client.post(f"/api/generate-image/{again.json()['task_id']}/retry")
    assert done.status_code == 400
    assert done.json()["code"] == "task_not_retryable"
    stranger = new_client()
    _signed_in(stranger)
    assert stranger.post(f"/api/generate-image/{cancelled}/retry").status_code == 404

    edit = client.post(
        "/api/generate-image/edits",
        data={"prompt": "autumn", "size": "512x512"},
        files={"image": ("a.png", picture(), "image/png"), "mask": ("m.png", mask(), "image/png")},
    ).json()["task_id"]
    client.post("/api/generate-image/cancel", json={"task_id": edit})
    redo = client.post(f"/api/generate-image/{edit}/retry").json()["task_id"]
    before, after = (client.get(f"/api/generate-image/{t}").json() for t in (edit, redo))
    assert after["source_image_url"] == before["source_image_url"]
    assert after["mask_url"] == before["mask_url"]
