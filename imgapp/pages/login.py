"""Sign-in page `/login`."""

import reflex as rx

from imgapp.components.auth_form import email_field, password_field
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.pages.auth_card import auth_page
from imgapp.state.auth_forms import AuthFormState


@rx.page(route=routes.LOGIN, title="imgapp", on_load=AuthFormState.load)
def login() -> rx.Component:
    """Email and password, posted to `/api/auth/login`."""
    return auth_page(
        title_key="auth.sign_in_title",
        action=routes.API_LOGIN,
        submit_key="auth.sign_in",
        fields=[email_field(AuthFormState.email), password_field(new=False)],
        next_path=AuthFormState.sign_in_next,
        footer=rx.text(
            t("auth.no_account"),
            " ",
            rx.link(t("auth.create_one"), href=AuthFormState.register_href, id="to-register"),
            size="2",
        ),
    )
