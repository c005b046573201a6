"""Account page `/account`: profile, time zone, email, password, recent billing, statement CSV."""

import reflex as rx

from imgapp.components.auth_form import labelled
from imgapp.components.layout import section_card, signed_in_page
from imgapp.components.native_form import native_form
from imgapp.components.native_select import native_select
from imgapp.components.tables import ledger_table
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.state.account import ZONES, AccountState
from imgapp.state.app import AppState

STATEMENT_URL = "/api/billing/statement.csv"


def _outcome(ok: rx.Var, ok_key: str, error: rx.Var, prefix: str) -> rx.Component:
    return rx.fragment(
        rx.cond(ok, rx.callout(t(ok_key), color_scheme="green", size="1", id=f"{prefix}-ok")),
        rx.cond(
            error != "",
            rx.callout(error, color_scheme="red", size="1", role="alert", id=f"{prefix}-error"),
        ),
    )


def _profile() -> rx.Component:
    return section_card(
        "acct.profile",
        rx.form(
            rx.flex(
                labelled(
                    "acct.display_name",
                    rx.input(
                        id="display_name",
                        name="display_name",
                        default_value=AppState.display_name,
                        max_length=60,
                    ),
                ),
                rx.button(t("acct.save"), type="submit", id="save-profile"),
                direction="column",
                spacing="2",
                align="start",
            ),
            on_submit=AccountState.save_profile,
        ),
        _outcome(AccountState.profile_ok, "acct.saved", AccountState.profile_error, "profile"),
    )


def _time_zone() -> rx.Component:
    return section_card(
        "acct.time_zone",
        rx.text(t("acct.time_zone_hint"), size="2", color_scheme="gray"),
        rx.form(
            rx.flex(
                labelled(
                    "acct.time_zone_choice",
                    native_select(
                        [("", AccountState.site_zone_label), *[(z, z) for z in ZONES]],
                        select_id="time_zone",
                        name="time_zone",
                        default_value=AppState.time_zone,
                        # Remount when the saved zone changes, so the default shows it.
                        key=AppState.time_zone,
                    ),
                ),
                rx.text(
                    t("acct.time_zone_now"),
                    " ",
                    rx.text.strong(AppState.zone_name, id="time-zone-now"),
                    size="1",
                    color_scheme="gray",
                ),
                rx.button(t("acct.save"), type="submit", id="save-time-zone", align_self="start"),
                direction="column",
                spacing="2",
                align="stretch",  # the select takes the card's width, not its longest zone's
            ),
            on_submit=AccountState.save_time_zone,
        ),
        _outcome(
            AccountState.time_zone_ok,
            "acct.time_zone_saved",
            AccountState.time_zone_error,
            "time-zone",
        ),
    )


def _email() -> rx.Component:
    return section_card(
        "acct.email_title",
        rx.text(
            t("acct.current_email"),
            ": ",
            rx.text.strong(AppState.email, id="current-email"),
            size="2",
        ),
        rx.form(
            rx.flex(
                labelled(
                    "acct.new_email",
                    rx.input(id="new_email", name="new_email", type="email", required=True),
                ),
                labelled(
                    "acct.current_password",
                    rx.input(
                        id="email_current_password",
                        name="current_password",
                        type="password",
                        required=True,
                        auto_complete="current-password",
                    ),
                ),
                rx.cond(
                    AccountState.two_factor_on,
                    labelled(
                        "acct.email_code",
                        rx.input(
                            id="email_code",
                            name="code",
                            required=True,
                            max_length=20,
                            auto_complete="one-time-code",
                            input_mode="numeric",
                        ),
                    ),
                ),
                rx.button(t("acct.change_email"), type="submit", id="change-email"),
                direction="column",
                spacing="2",
                align="start",
            ),
            on_submit=AccountState.change_email,
            reset_on_submit=True,
        ),
        _outcome(AccountState.email_ok, "acct.email_changed", AccountState.email_error, "email"),
    )


def _password() -> rx.Component:
    return section_card(
        "acct.password_title",
        rx.form(
            rx.flex(
                labelled(
                    "acct.current_password",
                    rx.input(
                        id="password_current_password",
                        name="current_password",
                        type="password",
                        required=True,
                        auto_complete="current-password",
                    ),
                ),
                labelled(
                    "acct.new_password",
                    rx.input(
                        id="new_password",
                        name="new_password",
                        type="password",
                        required=True,
                        min_length=8,
                        auto_complete="new-password",
                    ),
                ),
                rx.button(t("acct.change_password"), type="submit", id="change-password"),
                direction="column",
                spacing="2",
                align="start",
            ),
            on_submit=AccountState.change_password,
            reset_on_submit=True,
        ),
        _outcome(
            AccountState.password_ok,
            "acct.password_changed",
            AccountState.password_error,
            "password",
        ),
        card_id="password",  # routes.ACCOUNT_PASSWORD leads here
    )


def _statement() -> rx.Component:
    return section_card(
        "acct.statement",
        rx.text(t("acct.statement_hint"), size="2", color_scheme="gray"),
        native_form(
            rx.flex(
                labelled(
                    "acct.from",
                    rx.input(
                        id="start",
                        name="start",
                        type="date",
                        default_value=AccountState.statement_start,
                    ),
                ),
                labelled(
                    "acct.to",
                    rx.input(
                        id="end", name="end", type="date", default_value=AccountState.statement_end
                    ),
                ),
                rx.button(
                    t("acct.download"), type="submit", variant="soft", id="download-statement"
                ),
                spacing="3",
                align="end",
                wrap="wrap",
            ),
            action=STATEMENT_URL,
            method="get",
        ),
    )


@rx.page(
    route=routes.ACCOUNT,
    title="imgapp",
    on_load=[AppState.ensure_signed_in, AccountState.load],
)
def account() -> rx.Component:
    """Everything about the signed-in account."""
    return signed_in_page(
        routes.ACCOUNT,
        "page.account.title",
        rx.flex(
            rx.grid(
                _profile(),
                _time_zone(),
                _email(),
                _password(),
                columns=rx.breakpoints(initial="1", md="2", lg="4"),
                spacing="4",
                width="100%",
            ),
            section_card(
                "acct.billing", ledger_table(AccountState.entry_rows, table_id="account-entries")
            ),
            _statement(),
            direction="column",
            spacing="5",
        ),
    )
