"""Generated image files under the data directory: write, locate safely, delete."""

from __future__ import annotations

import secrets
from pathlib import Path

from imgapp.core.settings import get_settings
from imgapp.gateways.providers.base import GeneratedImage
from imgapp.services.queue import StoredImage

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def _root() -> Path:
    return get_settings().data_dir / "images"


def save(*, user_id: int, task_id: int, position: int, image: GeneratedImage) -> StoredImage:
    """Write one image; the random part of the name keeps paths unguessable."""
    folder = _root() / str(user_id)
    folder.mkdir(parents=True, exist_ok=True)
    extension = _EXTENSIONS.get(image.mime_type, "bin")
    name = f"{task_id}-{position}-{secrets.token_hex(8)}.{extension}"
    (folder / name).write_bytes(image.data)
    return StoredImage(
        path=f"images/{user_id}/{name}",
        mime_type=image.mime_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.data),
    )


def locate(relative: str) -> Path:
    """The file for a stored path; refuses anything outside the images folder."""
    data_dir = get_settings().data_dir
    path = (data_dir / relative).resolve()
    if not path.is_relative_to(_root().resolve()):
        msg = f"image path {relative!r} leaves the images folder"
        raise ValueError(msg)
    return path


def delete(stored: list[StoredImage]) -> None:
    """Remove files that will not be kept (a task cancelled as it finished)."""
    for image in stored:
        locate(image.path).unlink(missing_ok=True)
