"""Dashboard page `/`: balance and its worth, shortcuts, 30 days' spending, latest tasks, usage."""

import reflex as rx

from imgapp.components.layout import signed_in_page
from imgapp.components.status import task_status_color
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


def _spending() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                rx.text(t("dash.spending_30d"), size="2", color_scheme="gray"),
                rx.spacer(),
                rx.text(
                    rx.text.strong(DashboardState.spent_30d_text, id="dashboard-spent-30d"),
                    " ",
                    t("money.credits_unit"),
                    size="2",
                ),
                rx.link(t("dash.usage_report"), href=routes.USAGE, size="2"),
                spacing="3",
                align="center",
            ),
            rx.box(
                rx.recharts.bar_chart(
                    rx.recharts.x_axis(data_key="day", tick_line=False),
                    rx.recharts.y_axis(allow_decimals=False, width=40),
                    rx.recharts.bar(
                        data_key="net",
                        name=t("dash.spent_net"),
                        fill=rx.color("iris", 9),
                        is_animation_active=False,
                    ),
                    rx.recharts.graphing_tooltip(),
                    data=DashboardState.spending,
                    height=140,
                ),
                width="100%",
                height="140px",
            ),
            direction="column",
            spacing="2",
        ),
        size="3",
        id="dashboard-spending",
    )


def _task_card(task: rx.Var) -> rx.Component:
    picture = rx.cond(
        task["thumbnail"] != "",
        rx.image(
            src=task["thumbnail"],
            alt=task["prompt"],
            width="100%",
            height="96px",
            object_fit="cover",
            border_radius="6px",
        ),
        rx.center(
            rx.badge(
                task["status_label"],
                color_scheme=task_status_color(task["status"]),
            ),
            width="100%",
            height="96px",
            border_radius="6px",
            background=rx.color("gray", 3),
        ),
    )
    return rx.link(
        rx.card(
            rx.flex(
                picture,
                rx.text(task["prompt"], size="1", trim="both", class_name="dashboard-task-prompt"),
                direction="column",
                spacing="1",
            ),
            size="1",
        ),
        href=routes.CONSOLE,
        underline="none",
        color_scheme="gray",
        class_name="dashboard-task",
        custom_attrs={"data-task-id": task["id"], "data-status": task["status"]},
    )


def _tasks() -> rx.Component:
    return rx.cond(
        DashboardState.task_cards.length() > 0,  # type: ignore[attr-defined]
        rx.grid(
            rx.foreach(DashboardState.task_cards, _task_card),
            columns=rx.breakpoints(initial="2", sm="3", md="6"),
            spacing="3",
            width="100%",
            id="dashboard-tasks",
        ),
        rx.text(
            t("dash.no_tasks"),
            " ",
            rx.link(t("dash.console"), href=routes.CONSOLE),
            color_scheme="gray",
            size="2",
            id="dashboard-tasks-empty",
        ),
    )


def _credits(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.text(row["credits"], size="2"),
        rx.cond(
            row["refund_label"] != "",
            rx.badge(row["refund_label"], color_scheme="grass", size="1", class_name="refunded"),
        ),
        spacing="2",
        align="center",
    )


def _usage() -> rx.Component:
    return rows_table(
        [
            ("col.time", field("time")),
            ("col.what", field("what")),
            ("col.images", field("images")),
            ("col.credits", _credits),
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
            rx.grid(
                _balance_card(),
                _spending(),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            _section("dash.latest_tasks", _tasks()),
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
