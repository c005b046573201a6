"""Sign-in and sign-up pages: what the last attempt said, and where to go next.

The forms post to `/api/auth/*` (so the session cookie is HttpOnly); a failed
attempt comes back here with `?error=<code>`, translated by this state.
"""

from __future__ import annotations

import reflex as rx

from imgapp.core import routes
from imgapp.core.i18n import CATALOG
from imgapp.services.accounts import DISPLAY_NAME_MAX_LENGTH
from imgapp.services.passwords import MIN_PASSWORD_LENGTH
from imgapp.state.app import resolve_principal
from imgapp.state.lang import LangState

OTP_REQUIRED = "otp_required"
# The answers that bring the sign-in form back with a code field.
CODE_STEP_ERRORS = (OTP_REQUIRED, "otp_invalid")


def clean_invite(value: str) -> str:
    """An invite code from a URL, kept as letters and digits (checked when it is used)."""
    return "".join(ch for ch in value if ch.isascii() and ch.isalnum())[:16].upper()


class AuthFormState(LangState):
    """Query-string driven: `error`, `email`, `next`, `minutes`, `signed_out`, `ended`, `invite`.

    `error=otp_required` (or `otp_invalid`) is sign-in's second step: the same
    form again with a field for the code (`needs_code`).

    `invite` (from an invite link) rides along between sign-in and sign-up, so
    the code survives a detour; signing in with it leads to the binding form.
    """

    error_code: str = ""
    notice_key: str = ""
    email: str = ""
    next_path: str = ""
    minutes: str = ""
    invite_code: str = ""
    ready: bool = False
    recovery_mode: bool = False  # the code field takes letters (a recovery code)

    @rx.var
    def needs_code(self) -> bool:
        """The password was right and the account wants a code too: the second step."""
        return self.error_code in CODE_STEP_ERRORS

    @rx.var
    def error_message(self) -> str:
        """The last attempt's error in this browser's language."""
        if not self.error_code or self.error_code == OTP_REQUIRED:
            return ""  # asking for the code is the second step, not a mistake
        key = f"error.{self.error_code}"
        if key not in CATALOG:
            key = "error.error"
        return self.text(
            key,
            minutes=self.minutes or "15",
            min=MIN_PASSWORD_LENGTH,
            max=DISPLAY_NAME_MAX_LENGTH,
        )

    @rx.var
    def notice_message(self) -> str:
        """A neutral notice (signed out, session ended, now the code)."""
        if self.error_code == OTP_REQUIRED:
            return self.text("auth.code_step")
        return self.text(self.notice_key) if self.notice_key else ""

    @rx.var
    def register_href(self) -> str:
        """The sign-up link, keeping where to go afterwards."""
        return routes.with_query(routes.REGISTER, next=self.next_path, invite=self.invite_code)

    @rx.var
    def login_href(self) -> str:
        """The sign-in link, keeping where to go afterwards."""
        return routes.with_query(routes.LOGIN, next=self.next_path, invite=self.invite_code)

    @rx.var
    def sign_in_next(self) -> str:
        """Where sign-in goes: `next`, or with an invite code the form to add it."""
        if self.next_path or not self.invite_code:
            return self.next_path
        return routes.with_query(routes.INVITES, invite=self.invite_code)

    @rx.event
    def toggle_recovery_mode(self) -> None:
        """Switch the code field between the app's digits and a recovery code's letters."""
        self.recovery_mode = not self.recovery_mode

    @rx.event
    async def load(self) -> rx.event.EventSpec | None:
        """Read the query; a visitor who is already signed in goes straight on."""
        params = self.router.url.query_parameters
        self.next_path = routes.safe_next(params.get("next", "")) if params.get("next") else ""
        if await resolve_principal(self) is not None:
            return rx.redirect(self.next_path or routes.DASHBOARD)
        self.error_code = params.get("error", "")[:40]
        self.email = params.get("email", "")[:254]
        self.minutes = "".join(ch for ch in params.get("minutes", "") if ch.isdigit())[:4]
        self.notice_key = (
            "auth.signed_out"
            if params.get("signed_out")
            else "auth.session_ended"
            if params.get("ended")
            else ""
        )
        self.invite_code = clean_invite(params.get("invite", ""))
        self.recovery_mode = False
        self.ready = True
        return None
