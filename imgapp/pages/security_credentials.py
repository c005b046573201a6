"""The security page's credential cards: two-factor sign-in and personal API keys.

Not a page: `pages/security.py` places both sections in its column. Each card
loads its own state when it appears; a sensitive action refused for want of
a recent confirmation opens the "confirm it's you" form in its own card.
"""

from __future__ import annotations

import reflex as rx

from imgapp.components.auth_form import labelled
from imgapp.components.layout import section_card
from imgapp.components.status import api_key_status_color
from imgapp.components.tables import field, rows_table
from imgapp.components.text import t
from imgapp.models.credentials import API_KEY_NAME_MAX_LENGTH
from imgapp.state.api_keys import DEFAULT_DAYS, MAX_DAYS, MIN_DAYS, ApiKeysState
from imgapp.state.reauth import FOR_CODES, FOR_KEY, FOR_SECRET, ReauthState
from imgapp.state.two_factor import TwoFactorState
from imgapp.state.webhook_secret import WebhookSecretState


def _error(message: rx.Var[str], error_id: str) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, color_scheme="red", size="1", role="alert", id=error_id),
    )


def _password_input(input_id: str, *, auto_focus: bool = False) -> rx.Component:
    return rx.input(
        id=input_id,
        auto_focus=auto_focus,
        name="password",
        type="password",
        required=True,
        max_length=256,
        auto_complete="current-password",
    )


def _code_input(input_id: str, *, required: bool = True) -> rx.Component:
    """A code from the app (6 digits) or a recovery code (letters), so no digits-only pattern."""
    return rx.input(
        id=input_id,
        name="code",
        required=required,
        max_length=20,
        auto_complete="one-time-code",
        input_mode="numeric",
        spell_check=False,
        width="12rem",
    )


def _buttons(*children: rx.Component) -> rx.Component:
    return rx.flex(*children, spacing="2", align="center", wrap="wrap")


def _cancel(on_click: rx.EventHandler, button_id: str) -> rx.Component:
    return rx.button(
        t("sec.cancel"),
        type="button",
        variant="soft",
        color_scheme="gray",
        on_click=on_click,
        id=button_id,
    )


def _copy_button(value: rx.Var[str], button_id: str) -> rx.Component:
    return rx.button(
        rx.icon("copy", size=14),
        t("sec.copy"),
        type="button",
        variant="soft",
        size="1",
        on_click=[rx.set_clipboard(value), ReauthState.copied],
        id=button_id,
    )


# --- "Confirm it's you" ---------------------------------------------------------------


def _reauth_until(until_id: str) -> rx.Component:
    return rx.cond(
        ReauthState.reauth_until_text != "",
        rx.flex(
            rx.icon("shield-check", size=14, color="var(--grass-11)", flex_shrink="0"),
            rx.text(
                t("sec.reauth_until"),
                " ",
                rx.text.strong(ReauthState.reauth_until_text),
                size="1",
                color_scheme="gray",
            ),
            spacing="1",
            align="center",
            id=until_id,
        ),
    )


def _reauth(action: str, on_submit: rx.EventHandler) -> rx.Component:
    """The confirmation form, in the card whose action asked for it."""
    return rx.cond(
        ReauthState.reauth_for == action,
        rx.box(
            rx.flex(
                rx.heading(t("sec.reauth_title"), size="3", as_="h3"),
                rx.text(
                    rx.cond(
                        ReauthState.two_factor_on,
                        t("sec.reauth_hint_code"),
                        t("sec.reauth_hint"),
                    ),
                    size="2",
                ),
                rx.form(
                    rx.flex(
                        labelled(
                            "sec.password", _password_input("reauth-password", auto_focus=True)
                        ),
                        rx.cond(
                            ReauthState.two_factor_on,
                            labelled("sec.code", _code_input("reauth-code")),
                        ),
                        _buttons(
                            rx.button(t("sec.confirm"), type="submit", id="reauth-confirm"),
                            _cancel(ReauthState.cancel_reauth, "reauth-cancel"),
                        ),
                        direction="column",
                        spacing="2",
                        align="start",
                    ),
                    on_submit=on_submit,
                    reset_on_submit=True,
                    id="reauth-form",
                ),
                _error(ReauthState.reauth_error, "reauth-error"),
                direction="column",
                spacing="2",
            ),
            padding="12px",
            border="1px solid var(--amber-7)",
            border_radius="var(--radius-3)",
            background="var(--amber-2)",
        ),
    )


# --- two-factor sign-in -----------------------------------------------------------------


def _recovery_code(code: rx.Var[str]) -> rx.Component:
    return rx.code(code, size="3", variant="ghost", class_name="recovery-code")


def _recovery_codes() -> rx.Component:
    """The codes just made, this once: store them now."""
    return rx.cond(
        TwoFactorState.recovery_codes.length() > 0,  # type: ignore[attr-defined]
        rx.flex(
            rx.callout(
                t("sec.codes_store_now"),
                icon="triangle_alert",
                color_scheme="amber",
                id="codes-warning",
            ),
            rx.grid(
                rx.foreach(TwoFactorState.recovery_codes, _recovery_code),
                columns="2",
                spacing_x="6",
                spacing_y="2",
                width="fit-content",
                padding="12px 16px",
                border="1px dashed var(--gray-8)",
                border_radius="var(--radius-3)",
                id="recovery-codes",
            ),
            _buttons(
                rx.button(
                    rx.icon("download", size=14),
                    t("sec.codes_download"),
                    type="button",
                    on_click=TwoFactorState.download_codes,
                    id="download-codes",
                ),
                _copy_button(TwoFactorState.codes_text, "copy-codes"),
                rx.button(
                    t("sec.codes_stored"),
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    on_click=TwoFactorState.codes_stored,
                    id="codes-stored",
                ),
            ),
            direction="column",
            spacing="3",
        ),
    )


def _setup() -> rx.Component:
    """Scan or type the secret, then prove it with a code."""
    return rx.flex(
        rx.text(t("sec.tfa_scan"), size="2"),
        rx.flex(
            rx.image(
                src=TwoFactorState.qr_image,
                alt=t("sec.tfa_qr_alt"),
                id="totp-qr",
                width="180px",
                height="180px",
                flex_shrink="0",
            ),
            rx.flex(
                rx.flex(
                    rx.text(t("sec.tfa_secret"), size="2", weight="medium"),
                    rx.flex(
                        rx.code(
                            TwoFactorState.secret_groups,
                            size="3",
                            id="totp-secret",
                            style={"word_break": "break-all"},
                        ),
                        _copy_button(TwoFactorState.secret, "copy-secret"),
                        spacing="2",
                        align="center",
                        wrap="wrap",
                    ),
                    direction="column",
                    spacing="1",
                ),
                rx.form(
                    rx.flex(
                        labelled("sec.tfa_code", _code_input("totp-code")),
                        _buttons(
                            rx.button(t("sec.tfa_enable"), type="submit", id="two-factor-enable"),
                            _cancel(TwoFactorState.cancel_setup, "two-factor-cancel"),
                        ),
                        direction="column",
                        spacing="2",
                        align="start",
                    ),
                    on_submit=TwoFactorState.enable,
                    reset_on_submit=True,
                ),
                _error(TwoFactorState.setup_error, "two-factor-error"),
                direction="column",
                spacing="3",
                flex="1 1 16rem",  # beside the QR code when there is room, else below it
            ),
            spacing="4",
            wrap="wrap",
            align="start",
        ),
        direction="column",
        spacing="3",
        id="two-factor-setup",
    )


def _turn_off() -> rx.Component:
    return rx.cond(
        TwoFactorState.turning_off,
        rx.flex(
            rx.text(t("sec.tfa_off_hint"), size="2"),
            rx.form(
                rx.flex(
                    labelled("sec.password", _password_input("off-password")),
                    labelled("sec.code", _code_input("off-code")),
                    _buttons(
                        rx.button(
                            t("sec.tfa_turn_off"),
                            type="submit",
                            color_scheme="red",
                            id="two-factor-off-confirm",
                        ),
                        _cancel(TwoFactorState.cancel_turn_off, "two-factor-off-cancel"),
                    ),
                    direction="column",
                    spacing="2",
                    align="start",
                ),
                on_submit=TwoFactorState.turn_off,
                reset_on_submit=True,
            ),
            _error(TwoFactorState.off_error, "two-factor-off-error"),
            direction="column",
            spacing="2",
        ),
    )


def _two_factor_on() -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.badge(t("sec.tfa_on"), color_scheme="grass", size="2", id="two-factor-badge"),
            rx.text(TwoFactorState.status_text, size="2", id="two-factor-status"),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        _buttons(
            rx.button(
                t("sec.codes_new"),
                type="button",
                variant="soft",
                on_click=TwoFactorState.new_codes,
                id="new-recovery-codes",
            ),
            rx.button(
                t("sec.tfa_turn_off"),
                type="button",
                variant="soft",
                color_scheme="red",
                on_click=TwoFactorState.open_turn_off,
                id="two-factor-off",
            ),
        ),
        rx.text(t("sec.codes_new_hint"), size="1", color_scheme="gray"),
        _reauth_until("reauth-until-codes"),
        _reauth(FOR_CODES, TwoFactorState.confirm),
        _turn_off(),
        direction="column",
        spacing="3",
    )


def _two_factor_off() -> rx.Component:
    return rx.cond(
        TwoFactorState.setting_up,
        _setup(),
        rx.flex(
            rx.cond(
                TwoFactorState.turned_off,
                rx.callout(
                    t("sec.tfa_turned_off"),
                    color_scheme="gray",
                    size="1",
                    id="two-factor-turned-off",
                ),
            ),
            rx.flex(
                rx.badge(t("sec.tfa_off"), color_scheme="gray", size="2", id="two-factor-badge"),
                rx.button(
                    t("sec.tfa_turn_on"),
                    type="button",
                    on_click=TwoFactorState.start_setup,
                    id="two-factor-on",
                ),
                spacing="3",
                align="center",
            ),
            direction="column",
            spacing="3",
        ),
    )


def two_factor_section() -> rx.Component:
    """Two-factor sign-in: off (turn on), setting up, on (status, new codes, turn off)."""
    return section_card(
        "sec.tfa_title",
        rx.text(t("sec.tfa_hint"), size="2", color_scheme="gray"),
        rx.cond(
            TwoFactorState.loaded,
            rx.flex(
                _recovery_codes(),
                rx.cond(TwoFactorState.two_factor_on, _two_factor_on(), _two_factor_off()),
                direction="column",
                spacing="4",
            ),
            rx.spinner(),
        ),
        card_id="two-factor-card",
        on_mount=TwoFactorState.load,
    )


# --- API keys ---------------------------------------------------------------------------


def _field_error(name: str) -> rx.Component:
    errors = ApiKeysState.field_errors
    return rx.cond(
        errors.contains(name),  # type: ignore[attr-defined]
        rx.text(errors[name], size="1", color_scheme="red", role="alert", id=f"key-{name}-error"),
    )


def _scope(name: str, label_key: str) -> rx.Component:
    return rx.checkbox(
        t(label_key),
        name=f"scope_{name}",
        id=f"scope-{name}",
        default_checked=name == "read",
    )


def _create_form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.flex(
                labelled(
                    "sec.key_name",
                    rx.input(
                        id="key-name",
                        name="name",
                        required=True,
                        max_length=API_KEY_NAME_MAX_LENGTH,
                        placeholder=t("sec.key_name_example"),
                        width="16rem",
                    ),
                ),
                _field_error("name"),
                direction="column",
                spacing="1",
            ),
            rx.flex(
                rx.text(t("sec.key_scopes"), size="2", weight="medium"),
                rx.flex(
                    _scope("read", "sec.scope_read_hint"),
                    _scope("generate", "sec.scope_generate_hint"),
                    _scope("pay", "sec.scope_pay_hint"),
                    direction="column",
                    spacing="1",
                ),
                _field_error("scopes"),
                direction="column",
                spacing="1",
            ),
            rx.flex(
                labelled(
                    "sec.key_days",
                    rx.input(
                        id="key-days",
                        name="expires_in_days",
                        type="number",
                        min=MIN_DAYS,
                        max=MAX_DAYS,
                        step=1,
                        default_value=str(DEFAULT_DAYS),
                        width="8rem",
                    ),
                ),
                rx.text(t("sec.key_days_hint"), size="1", color_scheme="gray"),
                _field_error("expires_in_days"),
                direction="column",
                spacing="1",
            ),
            rx.button(t("sec.key_create"), type="submit", id="create-key"),
            direction="column",
            spacing="3",
            align="start",
        ),
        on_submit=ApiKeysState.create,
        key=ApiKeysState.form_version,
        id="create-key-form",
    )


def _new_key() -> rx.Component:
    """The key just made, this once."""
    return rx.cond(
        ApiKeysState.new_key != "",
        rx.flex(
            rx.callout(
                t("sec.key_once"), icon="triangle_alert", color_scheme="amber", id="key-warning"
            ),
            rx.text(t("sec.key_made"), " ", rx.text.strong(ApiKeysState.new_key_name), size="2"),
            rx.flex(
                rx.input(
                    value=ApiKeysState.new_key,
                    read_only=True,
                    id="new-key",
                    font_family="var(--code-font-family)",
                    flex="1",
                    min_width="0",
                    on_focus=rx.call_script("document.getElementById('new-key').select()"),
                ),
                _copy_button(ApiKeysState.new_key, "copy-key"),
                spacing="2",
                align="center",
                width="100%",
            ),
            rx.button(
                t("sec.key_stored"),
                type="button",
                variant="soft",
                color_scheme="gray",
                on_click=ApiKeysState.key_stored,
                id="key-stored",
                align_self="start",
            ),
            direction="column",
            spacing="2",
        ),
    )


def _key_name(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.text(row["name"], size="2", weight="medium"),
        rx.code(row["prefix"], size="1", variant="ghost", color_scheme="gray"),
        direction="column",
    )


def _key_used(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.text(row["last_used"], size="2"),
        rx.text(row["last_ip"], size="1", color_scheme="gray"),
        direction="column",
    )


def _key_status(row: rx.Var) -> rx.Component:
    return rx.badge(
        row["status_label"],
        color_scheme=api_key_status_color(row["status"]),
        class_name="key-status",
    )


def _key_action(row: rx.Var) -> rx.Component:
    return rx.cond(
        row["status"] == "revoked",
        rx.fragment(),
        rx.button(
            t("sec.key_revoke"),
            size="1",
            variant="soft",
            color_scheme="red",
            on_click=ApiKeysState.revoke(row["id"]),
            custom_attrs={"data-key": row["id"]},
            class_name="revoke-key",
        ),
    )


def api_keys_section() -> rx.Component:
    """Personal API keys: create one (after confirming), the list, revoke."""
    return section_card(
        "sec.keys_title",
        rx.text(t("sec.keys_hint"), size="2", color_scheme="gray"),
        rx.cond(
            ApiKeysState.loaded,
            rx.flex(
                _new_key(),
                _create_form(),
                _error(ApiKeysState.create_error, "create-key-error"),
                _reauth(FOR_KEY, ApiKeysState.confirm),
                _reauth_until("reauth-until-key"),
                rows_table(
                    [
                        ("sec.col_key", _key_name),
                        ("sec.col_scopes", field("scopes")),
                        ("sec.col_created", field("created")),
                        ("sec.col_expires", field("expires")),
                        ("sec.col_last_used", _key_used),
                        ("sec.col_status", _key_status),
                        ("sec.col_action", _key_action),
                    ],
                    ApiKeysState.key_rows,
                    empty_key="sec.no_keys",
                    table_id="api-keys",
                    key_field="id",
                ),
                _error(ApiKeysState.list_error, "keys-error"),
                direction="column",
                spacing="4",
            ),
            rx.spinner(),
        ),
        card_id="api-keys-card",
        on_mount=ApiKeysState.load,
    )


def webhook_secret_section() -> rx.Component:
    """The secret task webhooks are signed with: show, copy, replace (after confirming)."""
    return section_card(
        "sec.webhook_title",
        rx.text(t("sec.webhook_hint"), size="2", color_scheme="gray"),
        rx.cond(
            WebhookSecretState.secret != "",
            rx.flex(
                rx.input(
                    value=WebhookSecretState.secret,
                    read_only=True,
                    id="webhook-secret",
                    font_family="var(--code-font-family)",
                    flex="1",
                    min_width="0",
                    on_focus=rx.call_script("document.getElementById('webhook-secret').select()"),
                ),
                _copy_button(WebhookSecretState.secret, "copy-webhook-secret"),
                rx.button(
                    t("sec.webhook_hide"),
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                    on_click=WebhookSecretState.hide,
                    id="webhook-secret-hide",
                ),
                spacing="2",
                align="center",
                width="100%",
            ),
            rx.button(
                t("sec.webhook_show"),
                type="button",
                variant="soft",
                on_click=WebhookSecretState.reveal,
                id="webhook-secret-show",
                align_self="start",
            ),
        ),
        rx.button(
            t("sec.webhook_rotate"),
            type="button",
            variant="soft",
            color_scheme="amber",
            on_click=WebhookSecretState.rotate,
            id="webhook-secret-rotate",
            align_self="start",
        ),
        _reauth(FOR_SECRET, WebhookSecretState.confirm),
        _error(WebhookSecretState.secret_error, "webhook-secret-error"),
        card_id="webhook-secret-card",
        on_mount=WebhookSecretState.load,
    )
