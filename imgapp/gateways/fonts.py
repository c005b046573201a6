"""The typeface the app draws with: Noto Sans CJK (Chinese and Latin) when installed, else DejaVu.

`scripts/bootstrap.sh` installs Debian's `fonts-noto-cjk`; the fallbacks keep
drawing working (without CJK glyphs) on a machine without it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

_CANDIDATES = (
    # (file, face index in the collection: 2 is Simplified Chinese in Noto's .ttc)
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 0),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=32)
def font(size: int, *, bold: bool = False) -> Font:
    """A font of `size` pixels (bold when available)."""
    for path, index in _CANDIDATES:
        if not bold and "Bold" in path:
            continue
        if Path(path).exists():
            return ImageFont.truetype(path, size, index=index)
    return ImageFont.load_default(size)


def has_cjk() -> bool:
    """Whether Chinese text will be drawn with real glyphs."""
    return any(Path(path).exists() for path, _ in _CANDIDATES if "Noto" in path)
