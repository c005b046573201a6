"""Sign-up page `/register`."""

import reflex as rx

from imgapp.components.auth_form import (
    display_name_field,
    email_field,
    invite_code_field,
    password_field,
)
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.pages.auth_card import auth_page
from imgapp.state.auth_forms import AuthFormState


@rx.page(route=routes.REGISTER, title="imgapp", on_load=AuthFormState.load)
def register() -> rx.Component:
    """Email, password (policy stated), an optional display name and invite code."""
    return auth_page(
        title_key="auth.sign_up_title",
        action=routes.API_REGISTER,
        submit_key="auth.sign_up",
        fields=[
            email_field(AuthFormState.email),
            password_field(new=True),
            display_name_field(),
            invite_code_field(AuthFormState.invite_code),
        ],
        footer=rx.text(
            t("auth.have_account"),
            " ",
            rx.link(t("auth.sign_in_instead"), href=AuthFormState.login_href, id="to-login"),
            size="2",
        ),
    )
