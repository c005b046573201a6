"""Page frames: the signed-in shell (navigation, user, language, sign-out) and the auth card."""

from __future__ import annotations

import reflex as rx

from imgapp.components.native_form import native_form
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.state.app import AppState
from imgapp.state.lang import LangState


def language_switch() -> rx.Component:
    """A button that flips the UI between Chinese and English."""
    return rx.button(
        t("shell.language"),
        on_click=LangState.toggle_lang,
        variant="ghost",
        size="1",
        aria_label=t("shell.language_label"),
        id="language-switch",
    )


def _nav_link(path: str, key: str, active: str) -> rx.Component:
    return rx.link(
        t(key),
        href=path,
        weight="bold" if path == active else "regular",
        color_scheme="iris" if path == active else "gray",
        underline="none",
        aria_current="page" if path == active else None,
        size="2",
    )


def _sign_out_form() -> rx.Component:
    return native_form(
        rx.button(t("shell.sign_out"), type="submit", variant="soft", size="1", id="sign-out"),
        action=routes.API_LOGOUT,
        method="post",
    )


def _header(active: str) -> rx.Component:
    return rx.el.header(
        rx.flex(
            rx.link(
                rx.heading(t("app.name"), size="5", as_="span"),
                href=routes.DASHBOARD,
                underline="none",
                color_scheme="iris",
            ),
            rx.el.nav(
                rx.flex(
                    *[_nav_link(path, key, active) for path, key in routes.NAV],
                    spacing="4",
                    wrap="wrap",
                ),
                aria_label="main",
            ),
            rx.spacer(),
            rx.flex(
                rx.link(
                    rx.badge(
                        t("shell.balance"),
                        " ",
                        rx.text.strong(AppState.balance_text, id="header-balance"),
                        " ",
                        t("money.credits_unit"),
                        size="2",
                        variant="soft",
                    ),
                    href=routes.RECHARGE,
                    underline="none",
                ),
                rx.text(
                    t("shell.signed_in_as"),
                    " ",
                    rx.text.strong(AppState.user_label, id="signed-in-email"),
                    size="2",
                    color_scheme="gray",
                ),
                language_switch(),
                _sign_out_form(),
                spacing="3",
                align="center",
                wrap="wrap",
            ),
            spacing="5",
            align="center",
            wrap="wrap",
            padding="0.75rem 1.25rem",
            border_bottom="1px solid var(--gray-a5)",
        )
    )


def _new_device_notice() -> rx.Component:
    """A sign-in from a device this account had not used: confirm it, or end it."""
    return rx.cond(
        AppState.new_device_session > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("shield-alert")),
            rx.flex(
                rx.callout.text(AppState.new_device_text, id="new-device-text"),
                rx.flex(
                    rx.button(
                        t("shell.that_was_me"),
                        size="1",
                        variant="soft",
                        on_click=AppState.that_was_me,
                        id="that-was-me",
                    ),
                    rx.button(
                        t("shell.not_me"),
                        size="1",
                        color_scheme="red",
                        on_click=AppState.that_was_not_me,
                        id="not-me",
                    ),
                    spacing="2",
                ),
                spacing="3",
                align="center",
                wrap="wrap",
            ),
            color_scheme="amber",
            role="alert",
            id="new-device",
            margin="0.75rem 1.25rem 0",
        ),
    )


def signed_in_page(active: str, title_key: str, *children: rx.Component) -> rx.Component:
    """The shell around a signed-in page; shows a spinner until the user is known."""
    return rx.box(
        rx.cond(
            AppState.signed_in,
            rx.fragment(
                _header(active),
                _new_device_notice(),
                rx.container(
                    rx.heading(t(title_key), size="7", margin_bottom="4", as_="h1"),
                    *children,
                    size="4",
                    padding="1.5rem 1rem",
                ),
            ),
            rx.center(
                rx.spinner(size="3"),
                rx.text(t("shell.loading"), margin_left="2"),
                height="100vh",
            ),
        ),
        min_height="100vh",
    )


def section_card(
    title_key: str,
    *children: rx.Component,
    card_id: str | None = None,
    on_mount: rx.EventHandler | None = None,
) -> rx.Component:
    """A titled card holding one part of a page (a form, a table), full width."""
    extra = {"on_mount": on_mount} if on_mount is not None else {}
    return rx.card(
        rx.flex(
            rx.heading(t(title_key), size="4", as_="h2"), *children, direction="column", spacing="3"
        ),
        size="2",
        width="100%",
        id=card_id,
        **extra,
    )


def auth_card(*children: rx.Component) -> rx.Component:
    """A centred card for the sign-in and sign-up pages."""
    return rx.center(
        rx.card(
            rx.flex(
                rx.flex(
                    rx.heading(t("app.name"), size="6", color_scheme="iris"),
                    rx.spacer(),
                    language_switch(),
                    align="center",
                ),
                rx.text(t("app.tagline"), color_scheme="gray", size="2"),
                *children,
                direction="column",
                spacing="4",
            ),
            size="4",
            width="100%",
            max_width="420px",
        ),
        min_height="100vh",
        padding="4",
    )
