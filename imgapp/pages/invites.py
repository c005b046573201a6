"""Invites page `/invites`: placeholder until its feature lands."""

import reflex as rx

from imgapp.components.layout import signed_in_page
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.state.app import AppState


@rx.page(route=routes.INVITES, title="imgapp", on_load=AppState.ensure_signed_in)
def invites() -> rx.Component:
    """Says what this page will hold."""
    return signed_in_page(
        routes.INVITES,
        "page.invites.title",
        rx.text(t("page.invites.soon"), color_scheme="gray"),
    )
