"""Sign-in page `/login`."""

import reflex as rx

from imgapp.components.auth_form import auth_form, email_field, messages, password_field
from imgapp.components.layout import auth_card
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.state.auth_forms import AuthFormState


@rx.page(route=routes.LOGIN, title="imgapp", on_load=AuthFormState.load)
def login() -> rx.Component:
    """Email and password, posted to `/api/auth/login`."""
    return auth_card(
        rx.heading(t("auth.sign_in_title"), size="4", as_="h1"),
        messages(),
        auth_form(routes.API_LOGIN, "auth.sign_in", email_field(), password_field(new=False)),
        rx.text(
            t("auth.no_account"),
            " ",
            rx.link(t("auth.create_one"), href=AuthFormState.register_href, id="to-register"),
            size="2",
        ),
    )
