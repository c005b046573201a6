"""Pictures uploaded for an edit: judged by their content, cleaned, recorded, owned.

`clean(data, purpose=...)` decides by what Pillow reads, never by a file name
or a declared type: the bytes must open as PNG, JPEG or WebP, within
`UPLOAD_MAX_BYTES` and `UPLOAD_MAX_PIXELS`, and decode completely. What is
kept is the picture re-encoded from its pixels: EXIF (GPS, camera, the
orientation, applied first), XMP, ICC profiles and text chunks are gone. A
mask must have transparency (where it is transparent, the edit may paint)
and is always kept as PNG.

`record` stores the row of a file the flow wrote; `source_of` answers the
person's own uploads for a task (anyone else's id: `NotFound`), checking that
a mask matches its picture.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import timedelta

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import ColumnElement, delete, exists, or_
from sqlmodel import Session, col, select

from imgapp.core.settings import get_settings
from imgapp.models import Task, Upload, UploadPurpose
from imgapp.models.base import utcnow
from imgapp.services.errors import NotFound, ValidationFailed

# What Pillow calls each accepted format -> the stored file's type.
FORMATS: dict[str, str] = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MIN_SIDE = 64  # pixels: smaller pictures give a provider nothing to work from
JPEG_QUALITY = 95
WEBP_QUALITY = 95


@dataclass(frozen=True)
class CleanImage:
    """An accepted upload: the re-encoded file and what it is."""

    data: bytes
    mime_type: str
    width: int
    height: int


@dataclass(frozen=True)
class EditSource:
    """The uploads an edit task starts from (ids), checked to be the person's own."""

    image: Upload
    mask: Upload | None


def _refuse(rule: str, message: str, field: str, **params: object) -> ValidationFailed:
    return ValidationFailed(rule, message, field=field, **params)


def _open(data: bytes, field: str) -> Image.Image:
    settings = get_settings()
    if not data:
        raise _refuse("upload_empty", "The file is empty: choose a picture.", field)
    if len(data) > settings.upload_max_bytes:
        limit_mb = settings.upload_max_bytes / 1_048_576
        raise _refuse(
            "upload_too_large",
            f"The file is {len(data) / 1_048_576:.1f} MB; at most {limit_mb:.0f} MB is accepted.",
            field,
            size_mb=f"{len(data) / 1_048_576:.1f}",
            max_mb=f"{limit_mb:.0f}",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _refuse(
            "upload_not_image",
            "This file is not a PNG, JPEG or WebP picture.",
            field,
        ) from None
    width, height = image.size
    if width * height > settings.upload_max_pixels:
        raise _refuse(
            "upload_too_many_pixels",
            f"The picture is {width}×{height} pixels; at most"
            f" {settings.upload_max_pixels:,} pixels in all are accepted. Scale it down.",
            field,
            width=width,
            height=height,
            max_pixels=f"{settings.upload_max_pixels:,}",
        )
    if min(width, height) < MIN_SIDE:
        raise _refuse(
            "upload_too_small",
            f"The picture is {width}×{height} pixels; each side needs at least {MIN_SIDE}.",
            field,
            width=width,
            height=height,
            min_side=MIN_SIDE,
        )
    try:
        image.load()  # the whole file decodes, not just its header
    except (OSError, ValueError, SyntaxError):
        raise _refuse(
            "upload_damaged", "The picture could not be read to the end: is it damaged?", field
        ) from None
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA"} or (
        image.mode == "P" and "transparency" in image.info
    )


def _encode(image: Image.Image, form: str) -> bytes:
    buffer = io.BytesIO()
    if form == "JPEG":
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    elif form == "WEBP":
        image.save(buffer, format="WEBP", quality=WEBP_QUALITY)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def clean(data: bytes, *, purpose: UploadPurpose) -> CleanImage:
    """The upload re-encoded without metadata, or `ValidationFailed` saying what to fix."""
    field = purpose.value
    image = _open(data, field)
    # A phone's multi-picture JPEG (MPO) opens as JPEG's kin: its first picture is kept.
    form = "JPEG" if image.format == "MPO" else image.format or "PNG"
    alpha = _has_alpha(image)
    if purpose is UploadPurpose.MASK and not alpha:
        raise _refuse(
            "mask_no_alpha",
            "The mask needs transparency: make the area to change transparent (a PNG with"
            " an alpha channel).",
            field,
        )
    upright = ImageOps.exif_transpose(image)  # a phone photo's orientation, applied
    pixels = upright.convert("RGBA" if alpha else "RGB")  # drops CMYK, palettes, 16-bit
    if purpose is UploadPurpose.MASK or (alpha and form == "JPEG"):
        form = "PNG"
    return CleanImage(_encode(pixels, form), FORMATS[form], pixels.width, pixels.height)


def record(
    session: Session, *, user_id: int, purpose: UploadPurpose, path: str, image: CleanImage
) -> Upload:
    """The row of an upload whose file is written at `path` (relative to the data directory)."""
    upload = Upload(
        user_id=user_id,
        purpose=purpose.value,
        path=path,
        mime_type=image.mime_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.data),
    )
    session.add(upload)
    session.flush()
    return upload


def owned(session: Session, *, upload_id: int, user_id: int, for_task: bool = False) -> Upload:
    """The person's own upload (`NotFound` for anyone else's, or none).

    `for_task`: a task is about to use it. On PostgreSQL the row is held (FOR
    KEY SHARE) until the task is in, so the sweep (which skips held rows)
    cannot remove it meanwhile; one the sweep holds first is gone: `NotFound`.
    """
    lock = {"read": True, "key_share": True} if for_task else None
    upload = session.get(Upload, upload_id, with_for_update=lock)
    if upload is None or upload.user_id != user_id:
        raise NotFound
    return upload


def source_of(session: Session, *, user_id: int, image_id: int, mask_id: int | None) -> EditSource:
    """An edit's picture and mask, both the person's, of the right purpose and matching size."""
    image = owned(session, upload_id=image_id, user_id=user_id, for_task=True)
    if image.purpose != UploadPurpose.IMAGE.value:
        raise _refuse("upload_not_picture", "Choose a picture to edit, not a mask.", "image")
    if mask_id is None:
        return EditSource(image, None)
    mask = owned(session, upload_id=mask_id, user_id=user_id, for_task=True)
    if mask.purpose != UploadPurpose.MASK.value:
        raise _refuse("upload_not_mask", "The mask must be uploaded as a mask.", "mask")
    check_mask_fits(image, mask)
    return EditSource(image, mask)


def check_mask_fits(image: CleanImage | Upload, mask: CleanImage | Upload) -> None:
    """A mask must be exactly the picture's size (`ValidationFailed` otherwise)."""
    if (mask.width, mask.height) != (image.width, image.height):
        raise _refuse(
            "mask_size_mismatch",
            f"The mask is {mask.width}×{mask.height} pixels but the picture is"
            f" {image.width}×{image.height}: they must be the same size.",
            "mask",
            mask=f"{mask.width}×{mask.height}",
            image=f"{image.width}×{image.height}",
        )


def files_of(session: Session, task: Task) -> tuple[str, str | None]:
    """The stored paths of an edit task's picture and mask."""
    if task.source_upload_id is None:
        msg = f"task {task.id} is not an edit"
        raise ValueError(msg)
    image = session.get(Upload, task.source_upload_id)
    mask = session.get(Upload, task.mask_upload_id) if task.mask_upload_id else None
    if image is None:
        raise NotFound
    return image.path, mask.path if mask else None


def _unused() -> ColumnElement[bool]:
    return ~exists().where(
        or_(col(Task.source_upload_id) == Upload.id, col(Task.mask_upload_id) == Upload.id)
    )


def unused(session: Session, *, older_than: timedelta, limit: int = 500) -> list[int]:
    """Uploads no task uses, kept longer than `older_than`: the sweep removes them."""
    return list(
        session.exec(
            select(Upload.id)
            .where(col(Upload.created_at) < utcnow() - older_than, _unused())
            .order_by(col(Upload.id))
            .limit(limit)
            .with_for_update(skip_locked=True)  # one a submit holds is in use: skipped
        )
    )


def remove_unused(session: Session, upload_ids: list[int]) -> list[str]:
    """Delete those of these uploads no task uses; answers their files' paths.

    One DELETE whose WHERE checks again that no task uses them, so two sweeps
    at once (two app processes) or a task submitted meanwhile lose nothing.
    """
    if not upload_ids:
        return []
    removed = session.execute(
        delete(Upload).where(col(Upload.id).in_(upload_ids), _unused()).returning(col(Upload.path))
    )
    return [path for (path,) in removed]
