"""Recharge page `/recharge`: pick an amount and a pay type, scan the QR code, see it turn paid."""

import reflex as rx

from imgapp.components.layout import signed_in_page
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.state.app import AppState
from imgapp.state.recharge import RechargeState

_STATUS_COLORS = {"pending": "amber", "succeeded": "grass", "failed": "red", "expired": "gray"}


def _form() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.heading(t("pay.choose"), size="4", as_="h2"),
            rx.flex(
                rx.foreach(
                    RechargeState.presets,
                    lambda amount: rx.button(
                        "¥ ",
                        amount,
                        on_click=RechargeState.pick(amount),
                        variant=rx.cond(RechargeState.amount == amount, "solid", "soft"),
                        class_name="preset",
                    ),
                ),
                spacing="2",
                wrap="wrap",
            ),
            rx.flex(
                rx.text(t("pay.amount"), as_="label", html_for="amount", size="2", weight="medium"),
                rx.input(
                    id="amount",
                    value=RechargeState.amount,
                    on_change=RechargeState.set_amount,
                    input_mode="decimal",
                    max_length=12,
                    width="12em",
                ),
                direction="column",
                spacing="1",
            ),
            rx.radio_group.root(
                rx.flex(
                    *(
                        rx.text(
                            rx.flex(
                                rx.radio_group.item(value=kind, id=f"pay-{kind}"),
                                t(f"pay.type.{kind}"),
                                spacing="2",
                            ),
                            as_="label",
                            size="2",
                        )
                        for kind in ("alipay", "wechat")
                    ),
                    spacing="4",
                ),
                value=RechargeState.pay_type,
                on_change=RechargeState.set_pay_type,
                id="pay-type",
            ),
            rx.text(
                t("pay.buys"),
                " ",
                rx.text.strong(RechargeState.credits_preview, id="credits-preview"),
                " ",
                t("money.credits_unit"),
                size="2",
            ),
            rx.cond(
                RechargeState.form_error != "",
                rx.callout(
                    RechargeState.form_error, color_scheme="red", role="alert", id="pay-error"
                ),
            ),
            rx.button(
                t("pay.create"),
                on_click=RechargeState.create,
                loading=RechargeState.creating,
                id="create-order",
                size="3",
            ),
            direction="column",
            spacing="3",
        ),
        size="3",
    )


def _order() -> rx.Component:
    order = RechargeState.order
    return rx.card(
        rx.flex(
            rx.flex(
                rx.heading(t("pay.order"), size="4", as_="h2"),
                rx.badge(
                    RechargeState.order_status_label,
                    color_scheme=rx.match(
                        RechargeState.order_state, *_STATUS_COLORS.items(), "gray"
                    ),
                    id="order-status",
                    custom_attrs={"data-status": RechargeState.order_state},
                    size="2",
                ),
                rx.cond(
                    order["provider"] == "sandbox",
                    rx.badge(t("pay.sandbox"), color_scheme="amber", id="sandbox-label"),
                ),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            rx.text(
                "¥ ",
                rx.text.strong(order["amount"].to(str), id="order-amount"),
                " → ",
                order["credits_text"].to(str),
                " ",
                t("money.credits_unit"),
                size="4",
            ),
            rx.text(
                t("pay.order_id"), " ", rx.code(order["order_id"].to(str), id="order-id"), size="1"
            ),
            rx.match(
                RechargeState.order_state,
                (
                    "pending",
                    rx.flex(
                        rx.cond(
                            RechargeState.qr_image != "",
                            rx.image(
                                src=RechargeState.qr_image,
                                width="240px",
                                height="240px",
                                alt="QR",
                                id="order-qr",
                            ),
                        ),
                        rx.text(t("pay.scan"), size="2"),
                        rx.text(
                            t("pay.expires"),
                            " ",
                            rx.moment(
                                order["expires_ms"].to(int),
                                from_now=True,
                                interval=1000,
                                locale=rx.cond(AppState.lang == "en", "en", "zh-cn"),
                            ),
                            size="2",
                            color_scheme="gray",
                            id="order-expires",
                        ),
                        rx.cond(
                            (order["pay_type"] == "alipay") & (order["qr"].to(str) != ""),
                            rx.link(
                                rx.button(t("pay.open_alipay"), variant="soft"),
                                href=order["qr"].to(str),
                                display=rx.breakpoints(initial="block", md="none"),
                                id="open-alipay",
                            ),
                        ),
                        rx.cond(
                            ~order["confirmed"].to(bool),
                            rx.flex(
                                rx.text(
                                    RechargeState.gateway_message, size="2", color_scheme="red"
                                ),
                                rx.button(
                                    t("pay.retry"),
                                    on_click=RechargeState.retry,
                                    id="retry-order",
                                    variant="soft",
                                ),
                                direction="column",
                                spacing="2",
                            ),
                        ),
                        direction="column",
                        spacing="2",
                        align="start",
                    ),
                ),
                (
                    "succeeded",
                    rx.callout(
                        t("pay.paid"), color_scheme="grass", icon="circle_check", id="order-paid"
                    ),
                ),
                (
                    "expired",
                    rx.callout(t("pay.expired"), color_scheme="gray", id="order-expired"),
                ),
                rx.callout(RechargeState.gateway_message, color_scheme="red", id="order-failed"),
            ),
            rx.button(
                t("pay.new"), on_click=RechargeState.new_order, variant="outline", id="new-order"
            ),
            direction="column",
            spacing="3",
        ),
        size="3",
    )


def _orders() -> rx.Component:
    return rx.card(
        rx.heading(t("pay.recent"), size="4", as_="h2", margin_bottom="2"),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(t("pay.order_id")),
                    rx.table.column_header_cell(t("pay.amount")),
                    rx.table.column_header_cell(t("pay.credits")),
                    rx.table.column_header_cell(t("pay.via")),
                    rx.table.column_header_cell(t("pay.status")),
                    rx.table.column_header_cell(t("pay.created")),
                )
            ),
            rx.table.body(
                rx.foreach(
                    RechargeState.order_rows,
                    lambda row: rx.table.row(
                        rx.table.cell(rx.code(row.order_id)),
                        rx.table.cell("¥ ", row.amount),
                        rx.table.cell(row.credits),
                        rx.table.cell(row.pay_type),
                        rx.table.cell(
                            rx.badge(
                                row.status_label,
                                color_scheme=rx.match(row.status, *_STATUS_COLORS.items(), "gray"),
                            )
                        ),
                        rx.table.cell(row.created),
                        custom_attrs={"data-order-id": row.order_id, "data-status": row.status},
                    ),
                )
            ),
            id="orders",
            size="1",
        ),
        size="2",
    )


@rx.page(
    route=routes.RECHARGE,
    title="imgapp",
    on_load=[AppState.ensure_signed_in, RechargeState.load],
)
def recharge() -> rx.Component:
    """Buy credits with Alipay or WeChat."""
    return signed_in_page(
        routes.RECHARGE,
        "page.recharge.title",
        rx.flex(
            rx.grid(
                _form(),
                rx.cond(RechargeState.has_order, _order()),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            _orders(),
            direction="column",
            spacing="5",
        ),
    )
