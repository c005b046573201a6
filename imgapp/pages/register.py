"""Sign-up page `/register`."""

import reflex as rx

from imgapp.components.auth_form import (
    auth_form,
    display_name_field,
    email_field,
    messages,
    password_field,
)
from imgapp.components.layout import auth_card
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.state.auth_forms import AuthFormState


@rx.page(route=routes.REGISTER, title="imgapp", on_load=AuthFormState.load)
def register() -> rx.Component:
    """Email, password (policy stated) and an optional display name."""
    return auth_card(
        rx.heading(t("auth.sign_up_title"), size="4", as_="h1"),
        messages(),
        auth_form(
            routes.API_REGISTER,
            "auth.sign_up",
            email_field(),
            password_field(new=True),
            display_name_field(),
        ),
        rx.text(
            t("auth.have_account"),
            " ",
            rx.link(t("auth.sign_in_instead"), href=AuthFormState.login_href, id="to-login"),
            size="2",
        ),
    )
