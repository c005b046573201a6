"""Uploads to edit: judged by content, cleaned of metadata, owned, priced like any task, swept."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image, PngImagePlugin
from sqlalchemy import update
from sqlmodel import col, select

from imgapp.core import db
from imgapp.core.settings import get_settings
from imgapp.flows import tasks as task_flow
from imgapp.flows import uploads as upload_flow
from imgapp.gateways import image_files
from imgapp.gateways.providers import LocalProvider, render_pool
from imgapp.models import Task, Upload, UploadPurpose
from imgapp.models.base import utcnow
from imgapp.services import generation, uploads
from imgapp.services.errors import NotFound, ValidationFailed
from tests.support.factories import balance_of, count_rows, funded_user
from tests.support.pictures import mask, picture

IMAGE, MASK = UploadPurpose.IMAGE, UploadPurpose.MASK
PARAMS = generation.Params(prompt="make it autumn", size="512x512", n=1, model="gpt-image-1")


def _rule(data: bytes, purpose: UploadPurpose = IMAGE) -> str:
    with pytest.raises(ValidationFailed) as caught:
        uploads.clean(data, purpose=purpose)
    return caught.value.rule


@pytest.mark.parametrize(
    ("form", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_png_jpeg_and_webp_are_accepted_by_content_and_keep_their_format(form, mime):
    cleaned = uploads.clean(picture(form), purpose=IMAGE)
    assert (cleaned.mime_type, cleaned.width, cleaned.height) == (mime, 200, 120)
    with Image.open(io.BytesIO(cleaned.data)) as reopened:
        assert reopened.format == form


def test_a_phones_multi_picture_jpeg_keeps_its_first_picture_as_a_jpeg():
    second = Image.new("RGB", (200, 120), (0, 200, 0))
    cleaned = uploads.clean(picture("MPO", save_all=True, append_images=[second]), purpose=IMAGE)
    assert (cleaned.mime_type, cleaned.width, cleaned.height) == ("image/jpeg", 200, 120)
    with Image.open(io.BytesIO(cleaned.data)) as reopened:
        assert reopened.format == "JPEG"
        assert getattr(reopened, "n_frames", 1) == 1
        red, green, _ = reopened.getpixel((20, 60))
        assert red > 150 > green  # the first picture, not the second


def test_metadata_is_stripped_and_a_photos_orientation_applied_first():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 0.0)}  # GPS
    raw = picture("JPEG", exif=exif.tobytes(), icc_profile=b"\0" * 128)
    cleaned = uploads.clean(raw, purpose=IMAGE)
    assert (cleaned.width, cleaned.height) == (120, 200)  # upright
    with Image.open(io.BytesIO(cleaned.data)) as reopened:
        assert not reopened.getexif()
        assert "icc_profile" not in reopened.info
        assert "exif" not in reopened.info
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "taken at home, 12 Main St")
    cleaned = uploads.clean(picture("PNG", pnginfo=text), purpose=IMAGE)
    assert b"Main St" not in cleaned.data


def test_what_is_not_a_png_jpeg_or_webp_picture_is_refused_by_content(configure):
    assert _rule(picture("GIF")) == "upload_not_image"
    assert _rule(b"GIF89a not really") == "upload_not_image"
    assert _rule(b"%PDF-1.7 pretending to be a .png") == "upload_not_image"
    assert _rule(b"") == "upload_empty"
    assert _rule(picture("PNG")[:300]) == "upload_damaged"
    assert _rule(picture(size=(40, 300))) == "upload_too_small"
    configure(UPLOAD_MAX_PIXELS="10000")
    with pytest.raises(ValidationFailed) as caught:
        uploads.clean(picture(size=(200, 120)), purpose=IMAGE)
    assert caught.value.rule == "upload_too_many_pixels"
    assert "200×120" in str(caught.value)
    configure(UPLOAD_MAX_BYTES="2048")
    assert (
        _rule(picture("PNG", size=(400, 400), mode="RGB", compress_level=0)) == "upload_too_large"
    )


def test_a_mask_needs_transparency_and_is_kept_as_png_with_it():
    assert _rule(mask(alpha=False), MASK) == "mask_no_alpha"
    assert _rule(picture("JPEG"), MASK) == "mask_no_alpha"
    cleaned = uploads.clean(mask(), purpose=MASK)
    assert cleaned.mime_type == "image/png"
    with Image.open(io.BytesIO(cleaned.data)) as reopened:
        assert reopened.mode == "RGBA"
        assert reopened.getpixel((150, 60))[3] == 0


@pytest.mark.usefixtures("engine")
def test_a_refused_upload_writes_no_file_and_no_row():
    user = funded_user(0)
    folder = get_settings().data_dir / "uploads"
    before = set(folder.rglob("*"))
    with pytest.raises(ValidationFailed):
        upload_flow.upload(user_id=user.id, data=b"not a picture", purpose=IMAGE)
    with pytest.raises(ValidationFailed):  # a good picture with a bad mask: neither is kept
        upload_flow.for_edit(user_id=user.id, image=picture(), mask=mask(alpha=False))
    assert count_rows(Upload) == 0
    assert set(folder.rglob("*")) == before


@pytest.mark.usefixtures("engine")
def test_an_edit_is_charged_by_the_one_price_rule_and_uses_only_its_owners_uploads():
    owner, other = funded_user(100), funded_user(100)
    image = upload_flow.upload(user_id=owner.id, data=picture(), purpose=IMAGE)
    cutout = upload_flow.upload(user_id=owner.id, data=mask(), purpose=MASK)
    assert image_files.locate(image.path).read_bytes()[:4] == b"\x89PNG"
    done = task_flow.submit(
        user_id=owner.id,
        params=PARAMS,
        provider="local",
        source_upload_id=image.id,
        mask_upload_id=cutout.id,
    )
    assert done.snapshot["cost"] == generation.cost(PARAMS) == 4
    assert (done.snapshot["source_upload_id"], done.snapshot["mask_upload_id"]) == (
        image.id,
        cutout.id,
    )
    assert balance_of(owner.id) == 96
    tasks_before = count_rows(Task)
    with pytest.raises(NotFound):  # someone else's upload: as if it did not exist
        task_flow.submit(
            user_id=other.id, params=PARAMS, provider="local", source_upload_id=image.id
        )
    with pytest.raises(ValidationFailed) as caught:  # a mask is not a picture to edit
        task_flow.submit(
            user_id=owner.id, params=PARAMS, provider="local", source_upload_id=cutout.id
        )
    assert caught.value.rule == "upload_not_picture"
    small = upload_flow.upload(user_id=owner.id, data=mask((100, 100)), purpose=MASK)
    with pytest.raises(ValidationFailed) as caught:
        task_flow.submit(
            user_id=owner.id,
            params=PARAMS,
            provider="local",
            source_upload_id=image.id,
            mask_upload_id=small.id,
        )
    assert caught.value.rule == "mask_size_mismatch"
    assert "100×100" in str(caught.value)
    assert count_rows(Task) == tasks_before
    assert (balance_of(owner.id), balance_of(other.id)) == (96, 100)


@pytest.mark.usefixtures("engine")
def test_the_sweep_removes_only_old_uploads_no_task_used():
    user = funded_user(100)
    used = upload_flow.upload(user_id=user.id, data=picture(), purpose=IMAGE)
    old = upload_flow.upload(user_id=user.id, data=picture(), purpose=IMAGE)
    fresh = upload_flow.upload(user_id=user.id, data=picture(), purpose=IMAGE)
    task_flow.submit(user_id=user.id, params=PARAMS, provider="local", source_upload_id=used.id)
    long_ago = utcnow() - timedelta(hours=get_settings().upload_keep_hours + 1)
    with db.transaction() as session:
        session.exec(
            update(Upload).where(col(Upload.id).in_([used.id, old.id])).values(created_at=long_ago)
        )
    assert upload_flow.sweep() == 1
    with db.read() as session:
        assert {u.id for u in session.exec(select(Upload))} == {used.id, fresh.id}
    assert not image_files.locate(old.path).exists()
    assert image_files.locate(used.path).exists()
    assert image_files.locate(fresh.path).exists()


@pytest.mark.parametrize("processes", [0, 2])
def test_the_local_renderer_edits_the_upload_and_keeps_what_the_mask_covers(tmp_path, processes):
    (tmp_path / "image.png").write_bytes(picture(size=(256, 256)))
    (tmp_path / "mask.png").write_bytes(mask((256, 256)))
    params = generation.Params(
        prompt="make it autumn",
        size="512x512",
        n=1,
        source_path=str(tmp_path / "image.png"),
        mask_path=str(tmp_path / "mask.png"),
    )
    try:
        [made] = LocalProvider(0, processes=processes).generate(
            params, on_progress=lambda *_: None, is_cancelled=lambda: False
        )
    finally:
        render_pool.shutdown()
    assert (made.width, made.height) == (512, 512)
    with Image.open(io.BytesIO(made.data)) as result:
        kept = {result.getpixel((x, y)) for x in range(20, 230, 15) for y in range(20, 400, 15)}
        changed = {result.getpixel((x, y)) for x in range(300, 500, 15) for y in range(20, 400, 15)}
    assert kept == {(200, 30, 30)}  # opaque in the mask: the upload, untouched
    assert (30, 30, 200) not in changed  # transparent: edited
    assert len(changed) > 10


@pytest.mark.usefixtures("engine")
def test_the_sweep_skips_an_old_upload_a_submit_is_taking(databases):
    """PostgreSQL: a submit holds its upload until it commits; the sweep passes it by."""
    if databases.kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the two cannot overlap")
    user = funded_user(100)
    old = upload_flow.upload(user_id=user.id, data=picture(), purpose=IMAGE)
    long_ago = utcnow() - timedelta(hours=get_settings().upload_keep_hours + 1)
    with db.transaction() as session:
        session.exec(update(Upload).where(col(Upload.id) == old.id).values(created_at=long_ago))
    with db.transaction() as submitting:  # a submit in flight: the upload is held
        uploads.source_of(submitting, user_id=user.id, image_id=old.id, mask_id=None)
        assert upload_flow.sweep() == 0  # skipped, not waited for, not failed
    assert upload_flow.sweep() == 1  # no task took it after all: now it goes
