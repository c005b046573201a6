"""Real picture files for upload tests: a two-colour picture and a mask over it."""

from __future__ import annotations

import io

from PIL import Image


def picture(
    form: str = "PNG", size: tuple[int, int] = (200, 120), mode: str = "RGB", **save: object
) -> bytes:
    """A real picture file: left half red, right half blue."""
    image = Image.new(mode, size, (200, 30, 30, 255) if mode == "RGBA" else (200, 30, 30))
    image.paste((30, 30, 200) if mode != "RGBA" else (30, 30, 200, 255), (size[0] // 2, 0, *size))
    buffer = io.BytesIO()
    image.save(buffer, format=form, **save)
    return buffer.getvalue()


def mask(size: tuple[int, int] = (200, 120), *, alpha: bool = True) -> bytes:
    """Opaque on the left half; transparent (to edit) on the right."""
    image = Image.new("RGBA" if alpha else "RGB", size, (0, 0, 0, 255) if alpha else (0, 0, 0))
    if alpha:
        image.paste((0, 0, 0, 0), (size[0] // 2, 0, *size))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
