"""Account page `/account`: placeholder until its feature lands."""

import reflex as rx

from imgapp import routes
from imgapp.components.layout import signed_in_page
from imgapp.components.text import t
from imgapp.state.app import AppState


@rx.page(route=routes.ACCOUNT, title="imgapp", on_load=AppState.ensure_signed_in)
def account() -> rx.Component:
    """Says what this page will hold."""
    return signed_in_page(
        routes.ACCOUNT,
        "page.account.title",
        rx.text(t("page.account.soon"), color_scheme="gray"),
    )
