"""Usage report page `/usage`: range and grouping, totals, a chart, the groups, the detail, CSVs.

Layout only, one function per section; it runs past 400 lines because the
page has seven sections, not because it holds logic.
"""

import reflex as rx

from imgapp.components.auth_form import labelled
from imgapp.components.layout import signed_in_page
from imgapp.components.native_select import native_select
from imgapp.components.status import task_status_color
from imgapp.components.tables import Cell, amount, field, rows_table
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.state.app import AppState
from imgapp.state.usage import GROUP_KEYS, PRESET_KEYS, SORT_KEYS, UsageState


def _presets() -> rx.Component:
    return rx.flex(
        *[
            rx.button(
                t(key),
                on_click=UsageState.choose_preset(value),
                variant=rx.cond(UsageState.preset == value, "solid", "soft"),
                size="2",
                id=f"usage-preset-{value}",
                aria_pressed=rx.cond(UsageState.preset == value, "true", "false"),
            )
            for value, key in PRESET_KEYS.items()
        ],
        spacing="2",
        wrap="wrap",
        role="group",
    )


def _custom_range() -> rx.Component:
    return rx.cond(
        UsageState.preset == "custom",
        rx.flex(
            labelled(
                "usage.first_day",
                rx.input(
                    type="date",
                    id="usage-from",
                    value=UsageState.custom_from,
                    on_change=UsageState.set_custom_from,
                ),
            ),
            labelled(
                "usage.last_day",
                rx.input(
                    type="date",
                    id="usage-to",
                    value=UsageState.custom_to,
                    on_change=UsageState.set_custom_to,
                ),
            ),
            rx.button(t("usage.apply"), on_click=UsageState.apply_custom, id="usage-apply"),
            spacing="3",
            align="end",
            wrap="wrap",
        ),
    )


def _controls() -> rx.Component:
    return rx.card(
        rx.flex(
            _presets(),
            _custom_range(),
            rx.flex(
                labelled(
                    "usage.group_by",
                    native_select(
                        [(value, t(key)) for value, key in GROUP_KEYS.items()],
                        select_id="usage-group",
                        value=UsageState.group,
                        on_change=UsageState.set_group,
                    ),
                ),
                rx.text(
                    t("usage.range"),
                    " ",
                    rx.text.strong(UsageState.range_text, id="usage-range"),
                    " · ",
                    t("usage.zone"),
                    " ",
                    rx.text.strong(UsageState.range_zone, id="usage-zone"),
                    " · ",
                    rx.link(
                        t("usage.change_zone"),
                        href=routes.ACCOUNT,
                        color_scheme="iris",
                        id="usage-zone-link",
                    ),
                    size="2",
                    color_scheme="gray",
                ),
                spacing="5",
                align="end",
                wrap="wrap",
            ),
            rx.cond(
                UsageState.error != "",
                rx.callout(UsageState.error, color_scheme="red", role="alert", id="usage-error"),
            ),
            direction="column",
            spacing="3",
        ),
        size="2",
    )


def _card(key: str, value: rx.Var, card_id: str, *extra: rx.Component) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.text(t(key), size="2", color_scheme="gray"),
            rx.heading(value, size="6", id=card_id),
            *extra,
            direction="column",
            spacing="1",
        ),
        size="2",
    )


def _overview() -> rx.Component:
    cards = UsageState.cards
    return rx.grid(
        _card("usage.total.spent", cards["spent"], "usage-total-spent"),
        _card("usage.total.refunded", cards["refunded"], "usage-total-refunded"),
        _card("usage.total.net", cards["net"], "usage-total-net"),
        _card(
            "usage.total.recharged",
            cards["recharged"],
            "usage-total-recharged",
            rx.text(
                t("usage.paid"),
                " ",
                rx.text.span(cards["recharged_yuan"], id="usage-total-recharged-yuan"),
                size="1",
                color_scheme="gray",
            ),
        ),
        _card(
            "usage.total.rewarded",
            cards["rewarded"],
            "usage-total-rewarded",
            rx.cond(
                UsageState.has_adjusted,
                rx.text(
                    t("usage.adjusted"),
                    " ",
                    rx.text.span(cards["adjusted"], id="usage-total-adjusted"),
                    size="1",
                    color_scheme="gray",
                ),
            ),
        ),
        _card("usage.total.images", cards["images"], "usage-total-images"),
        _card(
            "usage.total.tasks",
            cards["tasks"],
            "usage-total-tasks",
            rx.flex(
                rx.foreach(
                    UsageState.status_counts,
                    lambda item: rx.badge(
                        item["label"],
                        " ",
                        item["count"],
                        color_scheme=task_status_color(item["status"]),
                        size="1",
                        custom_attrs={"data-status": item["status"]},
                    ),
                ),
                spacing="1",
                wrap="wrap",
                id="usage-tasks-by-status",
            ),
        ),
        columns=rx.breakpoints(initial="2", sm="3", md="4", lg="7"),
        spacing="3",
        width="100%",
    )


def _bars() -> list[rx.Component]:
    return [
        rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
        rx.recharts.x_axis(data_key="label"),
        rx.recharts.y_axis(y_axis_id="credits", allow_decimals=False),
        rx.recharts.bar(
            data_key="spent",
            name=t("usage.chart.spent"),
            fill=rx.color("iris", 9),
            y_axis_id="credits",
            is_animation_active=False,
        ),
        rx.recharts.bar(
            data_key="refunded",
            name=t("usage.chart.refunded"),
            fill=rx.color("grass", 8),
            y_axis_id="credits",
            is_animation_active=False,
        ),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(),
    ]


def _chart() -> rx.Component:
    with_balance = rx.recharts.composed_chart(
        *_bars(),
        rx.recharts.y_axis(y_axis_id="balance", orientation="right", allow_decimals=False),
        rx.recharts.line(
            data_key="balance",
            name=t("usage.chart.balance"),
            y_axis_id="balance",
            stroke=rx.color("amber", 10),
            stroke_width=2,
            type_="linear",
            dot=False,
            is_animation_active=False,
        ),
        data=UsageState.chart_data,
        height=300,
    )
    bars_only = rx.recharts.bar_chart(*_bars(), data=UsageState.chart_data, height=300)
    return rx.card(
        rx.box(
            rx.cond(UsageState.is_time_group, with_balance, bars_only),
            width="100%",
            height="300px",
        ),
        size="2",
        id="usage-chart",
        custom_attrs={
            "data-group": UsageState.group,
            "data-points": UsageState.chart_data.length(),  # type: ignore[attr-defined]
        },
    )


def _section(title_key: str, *children: rx.Component) -> rx.Component:
    return rx.flex(
        rx.heading(t(title_key), size="4", as_="h2"),
        *children,
        direction="column",
        spacing="2",
        width="100%",
    )


def _scrolls(table: rx.Component) -> rx.Component:
    # Cells keep to one line; a narrow screen scrolls the table sideways instead.
    return rx.box(
        table, overflow_x="auto", width="100%", style={"& td, & th": {"white_space": "nowrap"}}
    )


def _groups() -> rx.Component:
    number: list[tuple[str, Cell]] = [
        ("usage.col.spent", field("spent")),
        ("usage.col.refunded", field("refunded")),
        ("usage.col.net", field("net")),
        ("usage.col.recharged", field("recharged")),
        ("usage.col.rewarded", field("rewarded")),
        ("usage.col.adjusted", field("adjusted")),
        ("col.images", field("images")),
        ("usage.col.tasks", field("tasks")),
        ("usage.col.entries", field("entries")),
    ]
    table = rows_table(
        [("usage.col.group", field("label")), *number],
        UsageState.group_rows,
        empty_key="usage.no_groups",
        table_id="usage-groups",
        key_field="key",
    )
    with_balance = rows_table(
        [
            ("usage.col.group", field("label")),
            *number,
            ("usage.col.closing_balance", field("balance")),
        ],
        UsageState.group_rows,
        empty_key="usage.no_groups",
        table_id="usage-groups",
        key_field="key",
    )
    return _section(
        "usage.by_group", _scrolls(rx.cond(UsageState.is_time_group, with_balance, table))
    )


def _refund_of(row: rx.Var) -> rx.Component:
    return rx.cond(
        row["refund_of"] != "",
        rx.link(
            row["refund_label"],
            href="#usage-rows-" + row["refund_of"],
            size="2",
            class_name="usage-refund-of",
        ),
        rx.text(row["reference"], size="2"),
    )


def _paging() -> rx.Component:
    return rx.flex(
        rx.button(
            t("usage.prev"),
            on_click=UsageState.prev_page,
            disabled=~UsageState.has_prev,
            variant="soft",
            size="1",
            id="usage-prev",
        ),
        rx.text(UsageState.page_label, size="2", color_scheme="gray", id="usage-page"),
        rx.button(
            t("usage.next"),
            on_click=UsageState.next_page,
            disabled=~UsageState.has_next,
            variant="soft",
            size="1",
            id="usage-next",
        ),
        spacing="3",
        align="center",
    )


def _rows() -> rx.Component:
    table = rows_table(
        [
            ("col.time", field("time")),
            ("col.kind", field("kind_label")),
            ("usage.col.model", field("model")),
            ("usage.col.size", field("size")),
            ("col.images", field("images")),
            ("col.credits", amount()),
            ("col.balance_after", field("balance_after")),
            ("usage.col.reference", _refund_of),
            ("col.description", field("description")),
        ],
        UsageState.detail_rows,
        empty_key="usage.no_rows",
        table_id="usage-rows",
        key_field="entry_id",
    )
    return _section(
        "usage.detail",
        rx.flex(
            labelled(
                "usage.sort_by",
                native_select(
                    [(value, t(key)) for value, key in SORT_KEYS.items()],
                    select_id="usage-sort",
                    value=UsageState.sort,
                    on_change=UsageState.set_sort,
                ),
            ),
            rx.spacer(),
            _paging(),
            align="end",
            spacing="3",
            wrap="wrap",
        ),
        _scrolls(table),
    )


def _downloads() -> rx.Component:
    return rx.flex(
        rx.button(
            rx.el.a(
                t("usage.csv_rows"),
                href=UsageState.csv_rows_url,
                download=True,
                reload_document=True,  # rx.el.a is React Router's Link: let the browser fetch
                id="usage-csv-rows",
            ),
            as_child=True,
            variant="soft",
        ),
        rx.button(
            rx.el.a(
                t("usage.csv_groups"),
                href=UsageState.csv_groups_url,
                download=True,
                reload_document=True,  # rx.el.a is React Router's Link: let the browser fetch
                id="usage-csv-groups",
            ),
            as_child=True,
            variant="soft",
        ),
        rx.text(t("usage.csv_hint"), size="1", color_scheme="gray"),
        spacing="3",
        align="center",
        wrap="wrap",
    )


def _empty() -> rx.Component:
    return rx.callout(
        rx.text(
            t("usage.empty"),
            " ",
            rx.link(
                t("usage.empty_console"),
                href=routes.CONSOLE,
                color_scheme="iris",
                underline="always",
                id="usage-empty-console",
            ),
            t("usage.empty_or_wider"),
        ),
        icon="info",
        color_scheme="gray",
        id="usage-empty",
    )


@rx.page(
    route=routes.USAGE,
    title="imgapp",
    on_load=[AppState.ensure_signed_in, UsageState.load],
)
def usage() -> rx.Component:
    """Where the credits went over a range of days, in the person's zone."""
    return signed_in_page(
        routes.USAGE,
        "page.usage.title",
        rx.cond(
            UsageState.loaded,
            rx.flex(
                _controls(),
                _overview(),
                rx.cond(
                    UsageState.has_usage,
                    rx.fragment(_chart(), _groups(), _rows(), _downloads()),
                    _empty(),
                ),
                direction="column",
                spacing="5",
            ),
            rx.center(rx.spinner(size="3"), padding="4"),
        ),
    )
