"""Security page `/security`: sessions (end one, all others) and the audit log (filter, export)."""

import reflex as rx

from imgapp.components.auth_form import labelled
from imgapp.components.layout import section_card, signed_in_page
from imgapp.components.native_select import native_select
from imgapp.components.tables import field, rows_table
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.pages.security_credentials import (
    api_keys_section,
    two_factor_section,
    webhook_secret_section,
)
from imgapp.state.app import AppState
from imgapp.state.security import CATEGORIES, SecurityState


def _session_device(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.text(row["device"], size="2", weight="medium"),
        rx.cond(
            row["current"] == "1",
            rx.badge(t("sec.this_device"), color_scheme="grass", id="this-device"),
        ),
        spacing="2",
        align="center",
    )


def _session_action(row: rx.Var) -> rx.Component:
    return rx.cond(
        row["current"] == "1",
        rx.fragment(),
        rx.button(
            t("sec.sign_out"),
            size="1",
            variant="soft",
            color_scheme="red",
            on_click=SecurityState.revoke(row["id"]),
            custom_attrs={"data-session": row["id"]},
            class_name="revoke-session",
        ),
    )


def _sessions() -> rx.Component:
    return section_card(
        "sec.sessions",
        rx.text(t("sec.sessions_hint"), size="2", color_scheme="gray"),
        rows_table(
            [
                ("sec.col_device", _session_device),
                ("sec.col_browser", field("browser")),
                ("sec.col_os", field("os")),
                ("sec.col_ip", field("ip")),
                ("sec.col_signed_in", field("created")),
                ("sec.col_last_active", field("last_active")),
                ("sec.col_action", _session_action),
            ],
            SecurityState.session_rows,
            empty_key="sec.no_sessions",
            table_id="sessions",
            key_field="id",
        ),
        rx.flex(
            rx.button(
                t("sec.sign_out_others"),
                variant="soft",
                color_scheme="red",
                disabled=SecurityState.other_sessions == 0,
                on_click=SecurityState.revoke_others,
                id="revoke-others",
            ),
            rx.cond(
                SecurityState.others_ended >= 0,
                rx.text(
                    t("sec.others_ended"),
                    " ",
                    rx.text.strong(SecurityState.others_ended),
                    size="2",
                    color_scheme="green",
                    id="others-ended",
                ),
            ),
            spacing="3",
            align="center",
        ),
        rx.cond(
            SecurityState.sessions_error != "",
            rx.callout(SecurityState.sessions_error, color_scheme="red", size="1", role="alert"),
        ),
        card_id="sessions-card",
    )


def _category_cell(row: rx.Var) -> rx.Component:
    return rx.badge(row["category_label"], variant="soft", color_scheme="gray")


def _log_filters() -> rx.Component:
    return rx.form(
        rx.flex(
            labelled(
                "sec.category",
                native_select(
                    [
                        ("", t("sec.category_all")),
                        *[(c, t(f"sec.category.{c}")) for c in CATEGORIES],
                    ],
                    select_id="category",
                    name="category",
                    default_value=SecurityState.category,
                ),
            ),
            labelled(
                "sec.from",
                rx.input(id="from", name="from", type="date", default_value=SecurityState.day_from),
            ),
            labelled(
                "sec.to",
                rx.input(id="to", name="to", type="date", default_value=SecurityState.day_to),
            ),
            rx.button(t("sec.filter"), type="submit", variant="soft", id="filter-log"),
            spacing="3",
            align="end",
            wrap="wrap",
        ),
        on_submit=SecurityState.filter_log,
    )


def _export(label_key: str, href: rx.Var, link_id: str) -> rx.Component:
    return rx.button(
        rx.el.a(
            rx.icon("download", size=14),
            t(label_key),
            href=href,
            download=True,
            reload_document=True,  # not React Router's navigation: the browser fetches
            id=link_id,
        ),
        as_child=True,
        variant="outline",
        size="1",
    )


def _log() -> rx.Component:
    return section_card(
        "sec.log",
        rx.text(t("sec.log_hint"), size="2", color_scheme="gray"),
        _log_filters(),
        rx.cond(
            SecurityState.log_error != "",
            rx.callout(
                SecurityState.log_error, color_scheme="red", size="1", role="alert", id="log-error"
            ),
        ),
        rows_table(
            [
                ("sec.col_time", field("time")),
                ("sec.col_category", _category_cell),
                ("sec.col_detail", field("detail")),
                ("sec.col_ip", field("ip")),
                ("sec.col_device", field("device")),
            ],
            SecurityState.event_rows,
            empty_key="sec.no_events",
            table_id="audit-events",
            key_field="id",
        ),
        rx.flex(
            rx.button(
                t("sec.previous"),
                size="1",
                variant="soft",
                disabled=SecurityState.log_page <= 1,
                on_click=SecurityState.turn_page(-1),
                id="log-previous",
            ),
            rx.text(SecurityState.page_label, size="2", id="log-page"),
            rx.button(
                t("sec.next"),
                size="1",
                variant="soft",
                disabled=SecurityState.log_page >= SecurityState.log_pages,
                on_click=SecurityState.turn_page(1),
                id="log-next",
            ),
            rx.spacer(),
            _export("sec.export_csv", SecurityState.export_csv, "export-csv"),
            _export("sec.export_json", SecurityState.export_json, "export-json"),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        card_id="log-card",
    )


@rx.page(
    route=routes.SECURITY,
    title="imgapp",
    on_load=[AppState.ensure_signed_in, SecurityState.load],
)
def security() -> rx.Component:
    """Where the account is signed in, and everything that happened to it."""
    return signed_in_page(
        routes.SECURITY,
        "page.security.title",
        rx.cond(
            SecurityState.loaded,
            rx.flex(
                _sessions(),
                two_factor_section(),
                api_keys_section(),
                webhook_secret_section(),
                _log(),
                direction="column",
                spacing="5",
            ),
            rx.center(rx.spinner(size="3"), padding="4rem"),
        ),
    )
