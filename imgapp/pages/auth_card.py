"""The card sign-in and sign-up share: title, the last attempt's messages, the form, a way over.

Wires `AuthFormState` (what the query string said) into the page-neutral
pieces of `components.auth_form`.
"""

import reflex as rx

from imgapp.components.auth_form import auth_form, messages
from imgapp.components.layout import auth_card
from imgapp.components.text import t
from imgapp.state.auth_forms import AuthFormState


def auth_page(
    *,
    title_key: str,
    action: str,
    submit_key: str,
    fields: list[rx.Component],
    footer: rx.Component,
    next_path: rx.Var[str] = AuthFormState.next_path,
) -> rx.Component:
    """A sign-in or sign-up card posting `fields` to `action`."""
    return auth_card(
        rx.heading(t(title_key), size="4", as_="h1"),
        messages(AuthFormState.error_message, AuthFormState.notice_message),
        auth_form(
            action,
            submit_key,
            *fields,
            ready=AuthFormState.ready,
            next_path=next_path,
        ),
        footer,
    )
