"""What may be generated and what it costs: parameter validation and the price list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgapp.core.settings import get_settings
from imgapp.services.errors import ValidationFailed

SIZES: dict[str, int] = {  # size -> credits per image at standard quality
    "512x512": 4,
    "1024x1024": 8,
    "1024x1536": 12,
    "1536x1024": 12,
}
QUALITIES: dict[str, int] = {"standard": 1, "hd": 2}  # price multiplier
STYLES = ("", "vivid", "natural")  # "" = no style
DEFAULT_SIZE = "1024x1024"
DEFAULT_QUALITY = "standard"
MAX_IMAGES = 4
IMAGE_COUNTS = range(1, MAX_IMAGES + 1)
NEGATIVE_PROMPT_MAX_LENGTH = 2000
REQUEST_ID_MAX_LENGTH = 64


@dataclass(frozen=True)
class Params:
    """A validated generation request."""

    prompt: str
    negative_prompt: str = ""
    model: str = ""
    size: str = DEFAULT_SIZE
    n: int = 1
    quality: str = DEFAULT_QUALITY
    style: str = ""
    # An edit: the files of the uploaded picture and its optional mask (absolute
    # paths, filled in by the processor that runs it; "" for a picture drawn from
    # the prompt alone). An edit is priced like any task: by size, quality, count.
    source_path: str = ""
    mask_path: str = ""

    @property
    def is_edit(self) -> bool:
        """Whether this request edits an uploaded picture."""
        return bool(self.source_path)

    @property
    def width(self) -> int:
        """Pixels across."""
        return int(self.size.split("x")[0])

    @property
    def height(self) -> int:
        """Pixels down."""
        return int(self.size.split("x")[1])


def models() -> list[str]:
    """The models people may choose, the configured default first."""
    settings = get_settings()
    extra = [m.strip() for m in settings.image_models.split(",") if m.strip()]
    return list(dict.fromkeys([settings.image_model, *extra]))


def cost(params: Params) -> int:
    """Credits for the whole request: the one price rule."""
    return SIZES[params.size] * QUALITIES[params.quality] * params.n


def quote(size: str, quality: str, n: object) -> int:
    """The price of a form still being filled in: unknown choices price as the defaults."""
    try:
        count = int(str(n))
    except ValueError:
        count = 1
    return cost(
        Params(
            prompt="",
            size=size if size in SIZES else DEFAULT_SIZE,
            quality=quality if quality in QUALITIES else DEFAULT_QUALITY,
            n=max(1, min(MAX_IMAGES, count)),
        )
    )


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(
            "field_not_text", f"`{name}` must be a string.", field=name, name=name
        )
    return value


def validate(raw: dict[str, Any]) -> Params:
    """Turn request fields into `Params`, or raise `ValidationFailed` saying what to fix."""
    limit = get_settings().prompt_max_length
    prompt = _text(raw.get("prompt"), "prompt").strip()
    if not prompt:
        raise ValidationFailed("prompt_required", "Describe the image you want.", field="prompt")
    if len(prompt) > limit:
        raise ValidationFailed(
            "prompt_too_long",
            f"The prompt can be at most {limit} characters (it has {len(prompt)}).",
            field="prompt",
            max=limit,
            length=len(prompt),
        )
    negative = _text(raw.get("negative_prompt"), "negative_prompt").strip()
    if len(negative) > NEGATIVE_PROMPT_MAX_LENGTH:
        raise ValidationFailed(
            "negative_prompt_too_long",
            f"The negative prompt can be at most {NEGATIVE_PROMPT_MAX_LENGTH} characters.",
            field="negative_prompt",
            max=NEGATIVE_PROMPT_MAX_LENGTH,
        )
    offered = models()
    model = _text(raw.get("model"), "model").strip() or offered[0]
    if model not in offered:
        raise ValidationFailed(
            "model_unknown",
            f"The model {model!r} is not offered. Choose one of: {', '.join(offered)}.",
            field="model",
            model=model,
            choices=", ".join(offered),
        )
    size = _text(raw.get("size"), "size").strip() or DEFAULT_SIZE
    if size not in SIZES:
        raise ValidationFailed(
            "size_unknown",
            f"The size {size!r} is not offered. Choose one of: {', '.join(SIZES)}.",
            field="size",
            size=size,
            choices=", ".join(SIZES),
        )
    n = raw.get("n", 1)
    if n is None:
        n = 1
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_IMAGES:
        raise ValidationFailed(
            "image_count_range",
            f"`n` must be a whole number from 1 to {MAX_IMAGES}.",
            field="n",
            max=MAX_IMAGES,
        )
    quality = _text(raw.get("quality"), "quality").strip() or DEFAULT_QUALITY
    if quality not in QUALITIES:
        raise ValidationFailed(
            "quality_unknown",
            f"Quality must be one of: {', '.join(QUALITIES)}.",
            field="quality",
            choices=", ".join(QUALITIES),
        )
    style = _text(raw.get("style"), "style").strip()
    if style not in STYLES:
        raise ValidationFailed(
            "style_unknown",
            f"Style must be one of: {', '.join(s for s in STYLES if s)} (or empty).",
            field="style",
            choices=", ".join(s for s in STYLES if s),
        )
    return Params(prompt, negative, model, size, n, quality, style)


def request_id(value: object) -> str | None:
    """A client's request id for de-duplicating double submits, if it sent one."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > REQUEST_ID_MAX_LENGTH:
        raise ValidationFailed(
            "request_id_invalid",
            f"`request_id` must be a string of at most {REQUEST_ID_MAX_LENGTH} characters.",
            field="request_id",
            max=REQUEST_ID_MAX_LENGTH,
        )
    return value
