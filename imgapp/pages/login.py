"""Sign-in page `/login`: email and password, and with two-factor sign-in a second step."""

import reflex as rx

from imgapp.components.auth_form import email_field, otp_field, password_field
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.pages.auth_card import auth_page
from imgapp.state.auth_forms import AuthFormState


def _second_step() -> rx.Component:
    """With `?error=otp_required`: the password again (nothing kept it) and the code."""
    return rx.cond(
        AuthFormState.needs_code,
        rx.flex(
            rx.text(t("auth.password_again"), size="1", color_scheme="gray", id="password-again"),
            otp_field(
                recovery_mode=AuthFormState.recovery_mode,
                on_toggle=AuthFormState.toggle_recovery_mode,
            ),
            direction="column",
            spacing="3",
        ),
    )


@rx.page(route=routes.LOGIN, title="imgapp", on_load=AuthFormState.load)
def login() -> rx.Component:
    """Email and password (and `otp` when asked), posted to `/api/auth/login`."""
    return auth_page(
        title_key="auth.sign_in_title",
        action=routes.API_LOGIN,
        submit_key="auth.sign_in",
        fields=[
            email_field(AuthFormState.email),
            password_field(new=False, auto_focus=AuthFormState.needs_code),
            _second_step(),
            # Comes back on a failed attempt (`invite=`), like `next`.
            rx.el.input(type="hidden", name="invite_code", value=AuthFormState.invite_code),
        ],
        next_path=AuthFormState.sign_in_next,
        footer=rx.text(
            t("auth.no_account"),
            " ",
            rx.link(t("auth.create_one"), href=AuthFormState.register_href, id="to-register"),
            size="2",
        ),
    )
