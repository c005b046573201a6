"""Dashboard page `/`: the signed-in home."""

import reflex as rx

from imgapp import routes
from imgapp.components.layout import signed_in_page
from imgapp.components.text import t
from imgapp.state.app import AppState


@rx.page(route=routes.DASHBOARD, title="imgapp", on_load=AppState.ensure_signed_in)
def dashboard() -> rx.Component:
    """Welcome, and what the dashboard will show."""
    return signed_in_page(
        routes.DASHBOARD,
        "page.dashboard.title",
        rx.text(
            t("page.dashboard.welcome"),
            ", ",
            rx.text.strong(AppState.user_label),
            size="4",
        ),
        rx.text(t("page.dashboard.soon"), color_scheme="gray", margin_top="2"),
    )
