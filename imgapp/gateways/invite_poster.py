"""The invite poster: a PNG with the product name, the offer, the QR code of the link and the code.

Drawn with Pillow in the Noto Sans CJK face (`fonts`), so Chinese and Latin
text both come out right; lines wrap by measured width (CJK text has no spaces
to break at). The caller passes the texts already translated.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import segno
from PIL import Image, ImageDraw

from imgapp.gateways import fonts

WIDTH, HEIGHT = 1080, 1680
_MARGIN = 96
_TOP = (67, 56, 202)  # iris
_BOTTOM = (124, 58, 237)  # violet
_INK = (255, 255, 255)
_SOFT = (224, 231, 255)
_CARD = (255, 255, 255)
_CARD_INK = (30, 27, 75)
# A run of Latin letters/digits stays together; anything else (a CJK character,
# a space, punctuation) may end a line.
_TOKENS = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.,:;!?%/-]*|\s+|.")


@dataclass(frozen=True)
class PosterText:
    """What the poster says, in the reader's language."""

    title: str  # the product name
    offer: str  # what joining brings
    scan: str  # "scan to sign up"
    code_label: str  # "invite code"
    code: str
    link: str


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: fonts.Font, width: int) -> list[str]:
    """`text` broken into lines no wider than `width`."""
    lines: list[str] = []
    line = ""
    for piece in _TOKENS.findall(" ".join(text.split())):
        candidate = line + piece
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line = candidate
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _centred(
    draw: ImageDraw.ImageDraw, y: int, lines: list[str], font: fonts.Font, fill: tuple
) -> int:
    """Draw `lines` centred from `y`; returns the y below them."""
    for line in lines:
        left, top, right, bottom = draw.textbbox((0, 0), line, font=font)
        draw.text(((WIDTH - (right - left)) // 2 - left, y - top), line, font=font, fill=fill)
        y += int((bottom - top) * 1.45)
    return y


def _background() -> Image.Image:
    gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    return Image.composite(
        Image.new("RGB", (WIDTH, HEIGHT), _BOTTOM),
        Image.new("RGB", (WIDTH, HEIGHT), _TOP),
        gradient,
    )


def _qr(link: str, size: int) -> Image.Image:
    """The link's QR code, whole pixels per module, at most `size` square."""
    code = segno.make(link, error="m")
    modules = code.symbol_size(scale=1, border=2)[0]
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=max(1, size // modules), border=2)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def render(text: PosterText) -> bytes:
    """The poster as PNG bytes."""
    image = _background()
    draw = ImageDraw.Draw(image)
    inner = WIDTH - 2 * _MARGIN
    y = _centred(draw, 120, [text.title], fonts.font(112, bold=True), _INK)
    y = _centred(
        draw,
        y + 30,
        _wrap(draw, text.offer, fonts.font(52, bold=True), inner),
        fonts.font(52, bold=True),
        _INK,
    )

    card_top = max(y + 50, 560)
    qr_size = 560
    card = (
        (WIDTH - qr_size) // 2 - 40,
        card_top,
        (WIDTH + qr_size) // 2 + 40,
        card_top + qr_size + 80,
    )
    draw.rounded_rectangle(card, radius=36, fill=_CARD)
    qr = _qr(text.link, qr_size)
    image.paste(qr, ((WIDTH - qr.width) // 2, card_top + 40 + (qr_size - qr.height) // 2))

    y = _centred(
        draw, card[3] + 48, _wrap(draw, text.scan, fonts.font(40), inner), fonts.font(40), _SOFT
    )
    y = _centred(draw, y + 16, [text.code_label], fonts.font(36), _SOFT)
    badge_font = fonts.font(72, bold=True)
    left, top, right, bottom = draw.textbbox((0, 0), text.code, font=badge_font)
    badge_w, badge_h = right - left + 80, bottom - top + 48
    badge = (WIDTH - badge_w) // 2, y, (WIDTH + badge_w) // 2, y + badge_h
    draw.rounded_rectangle(badge, radius=24, fill=_CARD)
    draw.text((badge[0] + 40 - left, y + 24 - top), text.code, font=badge_font, fill=_CARD_INK)
    _centred(
        draw, badge[3] + 36, _wrap(draw, text.link, fonts.font(30), inner), fonts.font(30), _SOFT
    )

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
