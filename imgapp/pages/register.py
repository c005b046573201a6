"""Sign-up page `/register`."""

import reflex as rx

from imgapp import routes
from imgapp.components.auth_form import auth_form, email_field, messages, password_field
from imgapp.components.layout import auth_card
from imgapp.components.text import t
from imgapp.state.auth_forms import AuthFormState


def _display_name_field() -> rx.Component:
    return rx.flex(
        rx.text(
            t("auth.display_name"),
            as_="label",
            size="2",
            weight="medium",
            html_for="display_name",
        ),
        rx.input(
            id="display_name",
            name="display_name",
            max_length=60,
            size="3",
            auto_complete="nickname",
        ),
        direction="column",
        spacing="1",
    )


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
            _display_name_field(),
        ),
        rx.text(
            t("auth.have_account"),
            " ",
            rx.link(t("auth.sign_in_instead"), href=AuthFormState.login_href, id="to-login"),
            size="2",
        ),
    )
