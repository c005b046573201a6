"""`GET /api/images/{id}`: a generated image, to its owner only (404 for anyone else).

The session, or an API key with `read` (a script that generated images fetches them here).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from imgapp.api.deps import ReadCaller
from imgapp.core import db
from imgapp.gateways import image_files as images
from imgapp.services import task_views
from imgapp.services.errors import NotFound

router = APIRouter(prefix="/api/images", tags=["images"])


@router.get(
    "/{image_id}",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}}, 401: {}, 404: {}},
)
def image(image_id: int, user: ReadCaller, download: bool = False) -> FileResponse:
    """The image file; `?download=1` asks the browser to save it."""
    found = db.call_read(task_views.image_for_owner, image_id=image_id, user_id=user.user_id)
    path = images.locate(found.path)
    if not path.is_file():
        raise NotFound
    name = f"imgapp-{found.task_id}-{found.position + 1}{path.suffix}"
    return FileResponse(
        path,
        media_type=found.mime_type,
        filename=name if download else None,
        content_disposition_type="attachment" if download else "inline",
        headers={"Cache-Control": "private, max-age=86400"},
    )
