"""A native `<select>`, for long lists (time zones) and plain test automation.

Radix's select renders every option into a portal and scrolls poorly through
hundreds of them; the browser's own control handles any length, types ahead,
and works with the keyboard and screen readers out of the box. Styled to sit
next to Radix Themes' controls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import reflex as rx

SELECT_STYLE = {
    "height": "var(--space-6)",
    "padding": "0 var(--space-2)",
    "border": "1px solid var(--gray-a7)",
    "border_radius": "var(--radius-2)",
    "background": "var(--color-surface)",
    "color": "var(--gray-12)",
    "font_size": "var(--font-size-2)",
    "font_family": "inherit",
    "width": "100%",
    "max_width": "100%",
}


def native_select(
    options: Sequence[tuple[str, str | rx.Var[str]]], *, select_id: str, **props: Any
) -> rx.Component:
    """`<select id=select_id>` with `(value, label)` options; `props` go to the select."""
    return rx.el.select(
        *[rx.el.option(label, value=value) for value, label in options],
        id=select_id,
        style=SELECT_STYLE,
        **props,
    )
