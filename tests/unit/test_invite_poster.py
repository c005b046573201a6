"""The invite poster: a PNG whose QR code is the link's, with the text in a CJK-capable face."""

from __future__ import annotations

import io

import segno
from PIL import Image

from imgapp.gateways import fonts, invite_poster

LINK = "http://127.0.0.1:3000/register?invite=7KQ2MX9P"


def _poster(**changes: str) -> Image.Image:
    text = invite_poster.PosterText(
        title="imgapp",
        offer="用我的邀请注册 imgapp，即得 50 积分，一句话让 AI 为你作画。",
        scan="扫码注册",
        code_label="邀请码",
        code="7KQ2MX9P",
        link=LINK,
    )
    png = invite_poster.render(text.__class__(**{**text.__dict__, **changes}))
    return Image.open(io.BytesIO(png)).convert("RGB")


def _modules(image: Image.Image) -> list[list[bool]]:
    """Read the QR code back: the pure-black pixels' box, sampled at each module's centre."""
    black = image.point(lambda v: 255 if v == 0 else 0).convert("L")
    left, top, right, _ = black.getbbox()
    size = len(segno.make(LINK, error="m").matrix)
    step = (right - left) / size
    return [
        [
            image.getpixel((int(left + (x + 0.5) * step), int(top + (y + 0.5) * step))) == (0, 0, 0)
            for x in range(size)
        ]
        for y in range(size)
    ]


def test_the_qr_code_on_the_poster_is_the_links():
    image = _poster()
    assert image.size == (invite_poster.WIDTH, invite_poster.HEIGHT)
    expected = [[bool(v) for v in row] for row in segno.make(LINK, error="m").matrix]
    assert _modules(image) == expected


def test_chinese_is_drawn_with_real_glyphs():
    assert fonts.has_cjk()  # scripts/bootstrap.sh installs fonts-noto-cjk
    face = fonts.font(40)
    # A face without them draws every Chinese character as the same empty box.
    assert bytes(face.getmask("邀")) != bytes(face.getmask("请"))


def test_long_offers_wrap_inside_the_margins():
    image = _poster(offer="邀请" * 60)
    background = image.getpixel((10, 300))
    # Nothing but background in the 60-pixel side margins beside the offer lines.
    for y in range(260, 520, 4):
        for x in (*range(0, 60, 6), *range(invite_poster.WIDTH - 60, invite_poster.WIDTH, 6)):
            assert (
                sum(abs(a - b) for a, b in zip(image.getpixel((x, y)), background, strict=True))
                < 40
            )
