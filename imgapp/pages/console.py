"""Console page `/console`: placeholder until its feature lands."""

import reflex as rx

from imgapp import routes
from imgapp.components.layout import signed_in_page
from imgapp.components.text import t
from imgapp.state.app import AppState


@rx.page(route=routes.CONSOLE, title="imgapp", on_load=AppState.ensure_signed_in)
def console() -> rx.Component:
    """Says what this page will hold."""
    return signed_in_page(
        routes.CONSOLE,
        "page.console.title",
        rx.text(t("page.console.soon"), color_scheme="gray"),
    )
