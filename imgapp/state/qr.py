"""QR codes for pages, drawn on the server with segno, as SVG data URIs."""

from __future__ import annotations

import segno


def qr_svg(content: str, *, scale: int = 6) -> str:
    """The QR code for `content` as an SVG data URI ('' for no content)."""
    if not content:
        return ""
    return segno.make(content, error="m").svg_data_uri(scale=scale, border=2)
