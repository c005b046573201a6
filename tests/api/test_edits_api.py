"""`POST /api/generate-image/edits` and `/api/uploads/{id}`: real multipart, real files."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from imgapp.core import db
from imgapp.models import Task, Upload
from imgapp.services import ledger
from tests.api.test_generation_api import _run_queue, _signed_in
from tests.support.factories import count_rows
from tests.support.pictures import mask, picture


def _edit(
    client: httpx.Client,
    image: bytes | None = None,
    cutout: bytes | None = None,
    **fields: object,
) -> httpx.Response:
    files = {}
    if image is not None:
        files["image"] = ("holiday.jpg", image, "image/jpeg")
    if cutout is not None:
        files["mask"] = ("mask.png", cutout, "image/png")
    data = {"prompt": "make it autumn", "size": "512x512", **{k: str(v) for k, v in fields.items()}}
    return client.post("/api/generate-image/edits", data=data, files=files)


def test_an_edit_is_charged_by_the_price_rule_runs_and_shows_its_upload_to_its_owner_only(
    client, new_client
):
    user = _signed_in(client)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    response = _edit(client, picture("JPEG", exif=exif.tobytes()), mask(), n=2)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["cost"], body["balance"]) == (8, 92)  # 512x512 x 2, as a drawn task
    assert db.call_read(ledger.balance, user_id=user.id) == 92
    _run_queue()
    task = client.get(f"/api/generate-image/{body['task_id']}").json()
    assert task["status"] == "completed"
    assert len(task["images"]) == 2
    assert task["source_image_url"].startswith("/api/uploads/")
    assert task["mask_url"].startswith("/api/uploads/")
    source = client.get(task["source_image_url"])
    assert source.status_code == 200
    assert source.headers["content-type"] == "image/jpeg"
    assert b"PhoneMaker" not in source.content
    made = client.get(task["images"][0]["url"])
    with Image.open(io.BytesIO(made.content)) as result:
        assert result.size == (512, 512)
    stranger = new_client()
    _signed_in(stranger)
    assert stranger.get(task["source_image_url"]).status_code == 404
    assert stranger.get(task["mask_url"]).status_code == 404
    assert stranger.get(f"/api/generate-image/{body['task_id']}").status_code == 404


@pytest.mark.parametrize(
    ("image", "cutout", "fields", "refusal"),
    [
        (b"%PDF-1.7 not a picture", None, {}, ("upload_not_image", "image")),
        (picture("GIF"), None, {}, ("upload_not_image", "image")),
        (picture(), mask(alpha=False), {}, ("mask_no_alpha", "mask")),
        (picture(), mask((100, 100)), {}, ("mask_size_mismatch", "mask")),
        (None, None, {}, ("upload_missing", "image")),
        (picture(), None, {"prompt": "  "}, ("prompt_required", "prompt")),
        (picture(), None, {"size": "1x1"}, ("size_unknown", "size")),
        (picture(), None, {"n": "9"}, ("image_count_range", "n")),
    ],
)
def test_a_refused_edit_is_400_says_what_to_fix_and_keeps_and_charges_nothing(
    client, image, cutout, fields, refusal
):
    code, field = refusal
    user = _signed_in(client)
    response = _edit(client, image, cutout, **fields)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert response.json()["error"]
    assert db.call_read(ledger.balance, user_id=user.id) == 100
    assert (count_rows(Task), count_rows(Upload)) == (0, 0)


def test_an_edit_as_json_is_told_to_send_multipart(client):
    _signed_in(client)
    response = client.post("/api/generate-image/edits", json={"prompt": "x"})
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["error"]


def test_sizes_past_the_settings_are_refused_in_chinese_too(client, configure):
    configure(UPLOAD_MAX_BYTES="4096", MAX_BODY_BYTES="65536")
    _signed_in(client)
    big = picture("PNG", size=(400, 400), compress_level=0)
    response = client.post(
        "/api/generate-image/edits",
        data={"prompt": "make it autumn"},
        files={"image": ("big.png", big, "image/png")},
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 413  # over twice the file limit and the form's room: unread
    configure(UPLOAD_MAX_BYTES="262144")
    response = client.post(
        "/api/generate-image/edits",
        data={"prompt": "make it autumn"},
        files={"image": ("big.png", big, "image/png")},
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "upload_too_large"
    assert "MB" in response.json()["error"]
    assert count_rows(Upload) == 0


def test_without_the_credits_an_edit_is_402_and_its_upload_is_not_kept(client):
    _signed_in(client, credits=3)
    response = _edit(client, picture(), mask())
    assert response.status_code == 402
    assert (count_rows(Task), count_rows(Upload)) == (0, 0)


def test_the_same_request_id_twice_is_one_edit_with_one_upload(client):
    _signed_in(client)
    first = _edit(client, picture(), request_id="edit-1")
    second = _edit(client, picture(), request_id="edit-1")
    assert first.status_code == second.status_code == 202
    assert first.json()["task_id"] == second.json()["task_id"]
    assert (count_rows(Task), count_rows(Upload)) == (1, 1)
