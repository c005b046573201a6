"""The fields, messages and submit button shared by sign-in and sign-up.

Page-neutral: each page passes its own state's values (the prefilled email,
the messages, where to go next, whether the form may show).
"""

from __future__ import annotations

import reflex as rx

from imgapp.components.native_form import native_form
from imgapp.components.text import t


def labelled(label_key: str, control: rx.Component) -> rx.Component:
    """A control with its translated label above it."""
    return rx.flex(
        rx.text(t(label_key), as_="label", size="2", weight="medium", html_for=control.id),
        control,
        direction="column",
        spacing="1",
    )


def email_field(prefill: rx.Var[str]) -> rx.Component:
    """The email input, prefilled with `prefill` (the address of a failed attempt)."""
    return labelled(
        "auth.email",
        rx.input(
            id="email",
            name="email",
            type="email",
            required=True,
            auto_complete="email",
            default_value=prefill,
            # The tab's state outlives the redirect back here; a new key remounts the
            # uncontrolled input so it shows this attempt's email, not the first one's.
            key=prefill,
            max_length=254,
            size="3",
        ),
    )


def display_name_field() -> rx.Component:
    """The optional display name on sign-up."""
    return labelled(
        "auth.display_name",
        rx.input(
            id="display_name",
            name="display_name",
            max_length=60,
            size="3",
            auto_complete="nickname",
        ),
    )


def invite_code_field(prefill: rx.Var[str]) -> rx.Component:
    """The optional invite code on sign-up, prefilled from an invite link."""
    return labelled(
        "auth.invite_code",
        rx.input(
            id="invite_code",
            name="invite_code",
            default_value=prefill,
            key=prefill,  # remount when a link (or a failed attempt) brings a code
            max_length=16,
            placeholder="7KQ2MX9P",
            auto_complete="off",
            size="3",
        ),
    )


def password_field(*, new: bool, auto_focus: rx.Var[bool] | bool = False) -> rx.Component:
    """The password input; a new password states the policy."""
    control = rx.input(
        auto_focus=auto_focus,
        id="password",
        name="password",
        type="password",
        required=True,
        min_length=8 if new else None,
        max_length=256,
        auto_complete="new-password" if new else "current-password",
        size="3",
    )
    field = labelled("auth.password", control)
    if not new:
        return field
    return rx.flex(
        field,
        rx.text(
            t("auth.password_policy"),
            size="1",
            color_scheme="gray",
            id="password-policy",
        ),
        direction="column",
        spacing="1",
    )


def otp_field(*, recovery_mode: rx.Var[bool], on_toggle: rx.EventHandler) -> rx.Component:
    """Sign-in's second step: the app's code or a recovery code, posted as `otp`.

    Phones show digits for `inputmode=numeric`; a recovery code has letters,
    so a link switches the keyboard (the field accepts either all along).
    """
    return rx.flex(
        labelled(
            "auth.otp",
            rx.input(
                id="otp",
                name="otp",
                required=True,
                auto_complete="one-time-code",
                input_mode=rx.cond(recovery_mode, "text", "numeric"),
                auto_capitalize="off",
                spell_check=False,
                max_length=20,
                size="3",
            ),
        ),
        rx.button(
            rx.cond(recovery_mode, t("auth.otp_use_app"), t("auth.otp_use_recovery")),
            on_click=on_toggle,
            type="button",
            variant="ghost",
            size="1",
            id="otp-mode",
            align_self="start",
        ),
        direction="column",
        spacing="1",
    )


def messages(error: rx.Var[str], notice: rx.Var[str]) -> rx.Component:
    """The last attempt's `error`, or a neutral `notice` (either may be empty)."""
    return rx.fragment(
        rx.cond(
            error != "",
            rx.callout(
                error,
                color_scheme="red",
                role="alert",
                id="form-error",
            ),
        ),
        rx.cond(
            notice != "",
            rx.callout(notice, color_scheme="green", id="form-notice"),
        ),
    )


def auth_form(
    action: str,
    submit_key: str,
    *fields: rx.Component,
    ready: rx.Var[bool],
    next_path: rx.Var[str],
) -> rx.Component:
    """A native POST form to `action` carrying `next_path`, shown once `ready`."""
    return rx.cond(
        ready,
        native_form(
            rx.flex(
                *fields,
                rx.el.input(type="hidden", name="next", value=next_path),
                rx.button(t(submit_key), type="submit", size="3", id="submit"),
                direction="column",
                spacing="3",
            ),
            action=action,
            method="post",
        ),
        rx.center(rx.spinner()),
    )
