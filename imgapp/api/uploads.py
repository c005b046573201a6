"""`GET /api/uploads/{id}`: a picture uploaded to edit, to its owner only (404 for anyone else)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from imgapp.api.deps import ReadCaller
from imgapp.core import db
from imgapp.gateways import image_files
from imgapp.services import uploads
from imgapp.services.errors import NotFound

router = APIRouter(prefix="/api/uploads", tags=["images"])


@router.get(
    "/{upload_id}",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}}, 401: {}, 404: {}},
)
def upload(upload_id: int, user: ReadCaller) -> FileResponse:
    """The uploaded picture (or mask) as kept: re-encoded, without its metadata."""
    found = db.call_read(uploads.owned, upload_id=upload_id, user_id=user.user_id)
    path = image_files.locate(found.path)
    if not path.is_file():
        raise NotFound
    return FileResponse(
        path, media_type=found.mime_type, headers={"Cache-Control": "private, max-age=86400"}
    )
