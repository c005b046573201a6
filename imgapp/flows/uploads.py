"""Uploading a picture to edit, and sweeping away uploads no task used.

`upload` judges the bytes (services/uploads, nothing written if refused),
writes the cleaned file, then records it in one transaction; if the record
fails, the file goes again. `sweep` removes uploads no task used within
`UPLOAD_KEEP_HOURS`: rows in one transaction, their files after it commits.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from imgapp.core import db
from imgapp.core.settings import get_settings
from imgapp.gateways import image_files
from imgapp.models import Upload, UploadPurpose
from imgapp.services import uploads


def upload(*, user_id: int, data: bytes, purpose: UploadPurpose) -> Upload:
    """Accept a picture (or mask) of the person's; `ValidationFailed` says what to fix."""
    cleaned = uploads.clean(data, purpose=purpose)
    path = image_files.save_upload(user_id=user_id, purpose=purpose.value, image=cleaned)

    def run(session: Session) -> Upload:
        row = uploads.record(session, user_id=user_id, purpose=purpose, path=path, image=cleaned)
        session.expunge(row)
        return row

    try:
        return db.call(run)
    except BaseException:
        image_files.remove([path])
        raise


def for_edit(*, user_id: int, image: bytes, mask: bytes | None) -> tuple[Upload, Upload | None]:
    """An edit's picture and optional mask, both judged before either is kept."""
    cleaned = uploads.clean(image, purpose=UploadPurpose.IMAGE)
    cleaned_mask = uploads.clean(mask, purpose=UploadPurpose.MASK) if mask is not None else None
    if cleaned_mask is not None:
        uploads.check_mask_fits(cleaned, cleaned_mask)
    stored = image_files.save_upload(user_id=user_id, purpose="image", image=cleaned)
    stored_mask = (
        image_files.save_upload(user_id=user_id, purpose="mask", image=cleaned_mask)
        if cleaned_mask
        else None
    )

    def run(session: Session) -> tuple[Upload, Upload | None]:
        rows = [
            uploads.record(
                session, user_id=user_id, purpose=UploadPurpose.IMAGE, path=stored, image=cleaned
            )
        ]
        if cleaned_mask is not None and stored_mask is not None:
            rows.append(
                uploads.record(
                    session,
                    user_id=user_id,
                    purpose=UploadPurpose.MASK,
                    path=stored_mask,
                    image=cleaned_mask,
                )
            )
        for row in rows:
            session.expunge(row)
        return rows[0], rows[1] if len(rows) > 1 else None

    try:
        return db.call(run)
    except BaseException:
        image_files.remove([p for p in (stored, stored_mask) if p])
        raise


def discard(uploads_made: list[Upload]) -> None:
    """Drop uploads made for a submit that did not go ahead (rows no task uses, then files)."""
    ids = [u.id for u in uploads_made if u.id is not None]
    image_files.remove(db.call(uploads.remove_unused, ids))


def sweep() -> int:
    """Remove uploads no task used within `UPLOAD_KEEP_HOURS`; answers how many."""
    keep = timedelta(hours=get_settings().upload_keep_hours)

    def run(session: Session) -> list[str]:
        return uploads.remove_unused(session, uploads.unused(session, older_than=keep))

    paths = db.call(run)
    image_files.remove(paths)
    return len(paths)
