"""Picture files under the data directory: generated images and uploads; write, locate, delete.

Generated images live in `images/<user>/`, uploaded pictures (the sources
and masks of edits) in `uploads/<user>/`. Names carry a random part so no
path can be guessed; `locate` refuses any stored path outside those folders.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from imgapp.core.settings import get_settings
from imgapp.gateways.providers.base import GeneratedImage
from imgapp.services.queue import StoredImage
from imgapp.services.uploads import CleanImage

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_FOLDERS = ("images", "uploads")


def _root(folder: str = "images") -> Path:
    return get_settings().data_dir / folder


def _write(folder: str, user_id: int, stem: str, mime_type: str, data: bytes) -> str:
    directory = _root(folder) / str(user_id)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{stem}-{secrets.token_hex(8)}.{_EXTENSIONS.get(mime_type, 'bin')}"
    (directory / name).write_bytes(data)
    return f"{folder}/{user_id}/{name}"


def save(*, user_id: int, task_id: int, position: int, image: GeneratedImage) -> StoredImage:
    """Write one generated image."""
    path = _write("images", user_id, f"{task_id}-{position}", image.mime_type, image.data)
    return StoredImage(
        path=path,
        mime_type=image.mime_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.data),
    )


def save_upload(*, user_id: int, purpose: str, image: CleanImage) -> str:
    """Write an accepted upload; answers its stored path."""
    return _write("uploads", user_id, purpose, image.mime_type, image.data)


def locate(relative: str) -> Path:
    """The file for a stored path; refuses anything outside the picture folders."""
    path = (get_settings().data_dir / relative).resolve()
    if not any(path.is_relative_to(_root(folder).resolve()) for folder in _FOLDERS):
        msg = f"picture path {relative!r} leaves the picture folders"
        raise ValueError(msg)
    return path


def remove(paths: list[str]) -> None:
    """Remove files by stored path (gone already: fine)."""
    for relative in paths:
        locate(relative).unlink(missing_ok=True)


def delete(stored: list[StoredImage]) -> None:
    """Remove files that will not be kept (a task cancelled as it finished)."""
    remove([image.path for image in stored])
