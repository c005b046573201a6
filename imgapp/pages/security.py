"""Security page `/security`: placeholder until its feature lands."""

import reflex as rx

from imgapp.components.layout import signed_in_page
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.state.app import AppState


@rx.page(route=routes.SECURITY, title="imgapp", on_load=AppState.ensure_signed_in)
def security() -> rx.Component:
    """Says what this page will hold."""
    return signed_in_page(
        routes.SECURITY,
        "page.security.title",
        rx.text(t("page.security.soon"), color_scheme="gray"),
    )
