"""The offline renderer: a deterministic picture drawn from the prompt, in passes, with Pillow.

An edit starts from the uploaded picture instead of a blank canvas: it is
fitted to the requested size, graded toward the prompt's palette, stylised,
textured and captioned; with a mask, only the mask's transparent part changes.

Its randomness is seeded from the prompt on purpose (same prompt, same picture),
so it uses `random.Random`, not a cryptographic source (ruff S311 is off here).

The embedded default, so the whole product works with no network and no keys.
Each image is drawn in `PASSES` passes, each reported as progress, spread
over `LOCAL_RENDER_SECONDS` so a person sees the bar move. The drawing runs
in child processes (`render_pool`, `LOCAL_RENDER_PROCESSES`), the PNG encoding
of each finished picture included, so that it never holds this interpreter's
GIL against the event loop pushing live updates.
"""

from __future__ import annotations

import hashlib
import random
import time

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from imgapp.gateways import fonts
from imgapp.gateways.providers import render_pool
from imgapp.gateways.providers.base import CancelCheck, Cancelled, GeneratedImage, ProgressCallback
from imgapp.services.generation import Params

PASSES = 5
_STYLISE = 2  # an edit's pass that posterises
_TEXTURE = 3  # the pass that blurs and speckles
_CAPTION_LENGTH = 60


def _palette(rng: random.Random) -> list[tuple[int, int, int]]:
    base = rng.random()
    colors = []
    for i in range(5):
        hue = (base + i * 0.17) % 1.0
        colors.append(_hsv(hue, 0.55 + 0.3 * rng.random(), 0.6 + 0.35 * rng.random()))
    return colors


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return int(r * 255), int(g * 255), int(b * 255)


def _fitted(path: str, size: tuple[int, int], mode: str) -> Image.Image:
    """The uploaded file scaled and centre-cropped to fill `size` (a mask the same way)."""
    with Image.open(path) as source:
        resample = Image.Resampling.NEAREST if mode == "A" else Image.Resampling.BICUBIC
        picture = source.getchannel("A") if mode == "A" else source.convert(mode)
        return ImageOps.fit(picture, size, method=resample)


def _caption(image: Image.Image, params: Params) -> None:
    """The prompt along the bottom, so the picture says what it is."""
    width, height = image.size
    draw = ImageDraw.Draw(image, "RGBA")
    caption = params.prompt
    if len(caption) > _CAPTION_LENGTH:
        caption = caption[: _CAPTION_LENGTH - 1] + "…"
    font = fonts.font(max(14, width // 32))
    box = draw.textbbox((0, 0), caption, font=font)
    pad = width // 40
    y0 = height - (box[3] - box[1]) - 3 * pad
    draw.rectangle([0, y0, width, height], fill=(0, 0, 0, 120))
    draw.text((pad, y0 + pad), caption, font=font, fill=(255, 255, 255, 235))


def _edit_pass(image: Image.Image, step: int, rng: random.Random, params: Params) -> Image.Image:
    """An edit of the upload: fit, grade toward the prompt's palette, stylise, texture, caption.

    With a mask, only where the mask is transparent changes: the last pass puts
    the upload back wherever the mask is opaque.
    """
    size = image.size
    colors = _palette(random.Random(params.prompt))
    if step == 0:  # the upload, filling the requested size
        return _fitted(params.source_path, size, "RGB")
    if step == 1:  # graded toward the prompt's palette
        wash = Image.new("RGB", size, colors[0])
        wash.paste(colors[1], (0, size[1] // 2, size[0], size[1]))
        graded = Image.blend(image, wash.filter(ImageFilter.GaussianBlur(size[1] // 4)), 0.35)
        return ImageEnhance.Color(graded).enhance(1.4 if params.style != "natural" else 0.9)
    if step == _STYLISE:  # fewer tones, firmer edges
        return Image.blend(image, ImageOps.posterize(image, 3), 0.5).filter(
            ImageFilter.EDGE_ENHANCE
        )
    if step == _TEXTURE:
        draw = ImageDraw.Draw(image, "RGBA")
        for _ in range(size[0] // 2):
            x, y = rng.randrange(size[0]), rng.randrange(size[1])
            draw.point((x, y), fill=(*rng.choice(colors), 120))
        return image
    _caption(image, params)
    if params.mask_path:  # opaque in the mask: the upload as it was
        keep = _fitted(params.mask_path, size, "A")
        image = Image.composite(_fitted(params.source_path, size, "RGB"), image, keep)
    return image


def _draw_pass(image: Image.Image, step: int, rng: random.Random, params: Params) -> Image.Image:
    if params.is_edit:
        return _edit_pass(image, step, rng, params)
    width, height = image.size
    colors = _palette(random.Random(params.prompt))
    draw = ImageDraw.Draw(image, "RGBA")
    if step == 0:  # sky: a vertical gradient between two palette colours
        top, bottom = colors[0], colors[1]
        for y in range(height):
            mix = y / max(1, height - 1)
            draw.line(
                [(0, y), (width, y)],
                fill=tuple(int(top[c] * (1 - mix) + bottom[c] * mix) for c in range(3)),
            )
    elif step in (1, 2):  # hills and suns
        for _ in range(6 if step == 1 else 10):
            color = (*rng.choice(colors), 150 if step == 1 else 110)
            x, y = rng.randrange(width), rng.randrange(height)
            r = rng.randrange(width // 12, width // 3)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=color)
    elif step == _TEXTURE:
        image = image.filter(ImageFilter.GaussianBlur(radius=max(1, width // 256)))
        draw = ImageDraw.Draw(image, "RGBA")
        for _ in range(width // 2):
            x, y = rng.randrange(width), rng.randrange(height)
            draw.point((x, y), fill=(255, 255, 255, 90))
    else:
        _caption(image, params)
    return image


class LocalProvider:
    """Draws `n` images offline; the same prompt always gives the same pictures."""

    name = "local"

    def __init__(self, seconds_per_image: float, *, processes: int = 0) -> None:
        """`seconds_per_image` spreads the passes out so progress is visible.

        `processes`: draw in that many child processes (`render_pool`), or here when 0.
        """
        self.seconds_per_image = seconds_per_image
        self.processes = processes

    def generate(
        self, params: Params, *, on_progress: ProgressCallback, is_cancelled: CancelCheck
    ) -> list[GeneratedImage]:
        """Render every image pass by pass, reporting each pass."""
        pause = self.seconds_per_image / PASSES
        images = []
        for index in range(params.n):
            seed = hashlib.sha256(f"{params.prompt}|{params.style}|{index}".encode()).digest()
            rng = random.Random(seed)
            image = Image.new("RGB", (params.width, params.height))
            png = b""
            for step in range(PASSES):
                if is_cancelled():
                    raise Cancelled
                started = time.monotonic()
                if step < PASSES - 1:
                    image = render_pool.draw_pass(
                        _draw_pass, image, step, rng, params, processes=self.processes
                    )
                else:  # the last pass is drawn and encoded where the drawing happens
                    png = render_pool.draw_last_pass(
                        _draw_pass, image, step, rng, params, processes=self.processes
                    )
                done = index * PASSES + step + 1
                on_progress(
                    done * 100 // (params.n * PASSES),
                    "task.msg.rendering",
                    {"image": index + 1, "of": params.n, "step": step + 1, "steps": PASSES},
                )
                if (left := pause - (time.monotonic() - started)) > 0:
                    time.sleep(left)
            images.append(GeneratedImage(png, "image/png", params.width, params.height))
        return images
