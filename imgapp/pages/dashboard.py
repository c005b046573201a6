"""Dashboard page `/`: balance and its worth, shortcuts, recent usage and transactions."""

import reflex as rx

from imgapp.components.layout import signed_in_page
from imgapp.components.tables import field, ledger_table, rows_table
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.state.app import AppState
from imgapp.state.dashboard import DashboardState


def _balance_card() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.text(t("dash.balance"), size="2", color_scheme="gray"),
            rx.flex(
                rx.heading(AppState.balance_text, size="8", id="dashboard-balance"),
                rx.text(t("money.credits_unit"), size="3", color_scheme="gray"),
                align="baseline",
                spacing="2",
            ),
            rx.text(
                t("money.worth"),
                " ",
                rx.text.span(AppState.balance_value, id="balance-value"),
                size="2",
                color_scheme="gray",
            ),
            rx.flex(
                rx.link(rx.button(t("dash.recharge"), size="2"), href=routes.RECHARGE),
                rx.link(
                    rx.button(t("dash.console"), size="2", variant="soft"), href=routes.CONSOLE
                ),
                spacing="3",
                margin_top="2",
            ),
            direction="column",
            spacing="1",
        ),
        size="3",
    )


def _section(title_key: str, body: rx.Component) -> rx.Component:
    return rx.flex(
        rx.heading(t(title_key), size="4", as_="h2"), body, direction="column", spacing="2"
    )


def _usage() -> rx.Component:
    return rows_table(
        [
            ("col.time", field("time")),
            ("col.what", field("what")),
            ("col.images", field("images")),
            ("col.credits", field("credits")),
        ],
        DashboardState.usage_rows,
        empty_key="dash.no_usage",
        table_id="recent-usage",
    )


@rx.page(
    route=routes.DASHBOARD,
    title="imgapp",
    on_load=[AppState.ensure_signed_in, DashboardState.load],
)
def dashboard() -> rx.Component:
    """Welcome, the balance, and what happened lately."""
    return signed_in_page(
        routes.DASHBOARD,
        "page.dashboard.title",
        rx.flex(
            rx.text(
                t("page.dashboard.welcome"), ", ", rx.text.strong(AppState.user_label), size="4"
            ),
            _balance_card(),
            _section("dash.recent_usage", _usage()),
            _section(
                "dash.recent_entries",
                ledger_table(
                    DashboardState.entry_rows, table_id="recent-entries", with_reference=False
                ),
            ),
            direction="column",
            spacing="5",
        ),
    )
