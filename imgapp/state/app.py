"""The signed-in area's root state: who is signed in, resolved from the session cookie.

The browser's HttpOnly cookie reaches the backend with the websocket
handshake (`router.headers.cookie`); scripts on the page never see it. Every
page load re-reads the principal (name, email, time zone) from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from zoneinfo import ZoneInfo

import reflex as rx

from imgapp.core import db, formatting, i18n, routes
from imgapp.flows import sessions as session_flow
from imgapp.services import ledger, sessions, usage
from imgapp.services.errors import NotFound, ValidationFailed
from imgapp.services.sessions import Principal
from imgapp.state import tabs
from imgapp.state.lang import LangState


async def resolve_principal(state: rx.State) -> Principal | None:
    """The principal for the cookie this browser connected with, or None."""
    token = sessions.token_from_cookie_header(state.router.headers.cookie)
    if token is None:
        return None
    principal = await asyncio.to_thread(db.call_read, sessions.resolve, token=token)
    if principal is not None and principal.needs_touch:
        await asyncio.to_thread(
            db.call,
            sessions.touch,
            session_id=principal.session_id,
            ip=state.router.session.client_ip,
        )
    return principal


def zone_for(time_zone: str) -> ZoneInfo:
    """A person's zone, or the site's (also when a stored name is no longer known)."""
    try:
        return usage.zone_of(time_zone)
    except ValidationFailed:
        return usage.zone_of("")


def current_path(state: rx.State) -> str:
    """The path and query the browser is on, to come back to after sign-in."""
    url = state.router.url
    return f"{url.path}?{url.query}" if url.query else url.path or routes.DASHBOARD


class AppState(LangState):
    """Auth-only root for every signed-in page's state."""

    user_id: int = 0
    email: str = ""
    display_name: str = ""
    session_id: int = 0
    balance: int = 0
    time_zone: str = ""  # the person's choice; "" follows the site's IMGAPP_TIMEZONE
    # A sign-in from a device the account had not used, announced to this tab (0: none).
    new_device_session: int = 0
    new_device: dict[str, str] = {}

    @rx.var
    def signed_in(self) -> bool:
        """Whether a user has been resolved for this browser."""
        return self.user_id > 0

    @rx.var
    def user_label(self) -> str:
        """The name to show in the header."""
        return self.display_name or self.email

    @rx.var
    def balance_text(self) -> str:
        """The balance with thousands separators."""
        return formatting.count(self.balance, lang=self.lang)

    @rx.var
    def balance_value(self) -> str:
        """What the balance is worth in yuan."""
        return formatting.yuan(formatting.credits_value_fen(self.balance), lang=self.lang)

    @rx.var
    def zone_name(self) -> str:
        """The zone this person's dates are shown in."""
        return zone_for(self.time_zone).key

    def zone(self) -> ZoneInfo:
        """The zone this person's dates are shown in."""
        return zone_for(self.time_zone)

    async def refresh_balance(self) -> None:
        """Re-read the balance (after anything that moved it)."""
        self.balance = await asyncio.to_thread(db.call_read, ledger.balance, user_id=self.user_id)

    @rx.var
    def new_device_text(self) -> str:
        """The new sign-in, in a sentence in this browser's language."""
        if not self.new_device_session:
            return ""
        seen = self.new_device
        what = " · ".join(v for v in (seen.get("browser"), seen.get("os")) if v)
        return i18n.text(
            "shell.new_device",
            self.lang,
            device=what or seen.get("device") or "?",
            ip=seen.get("ip") or "?",
            time=seen.get("time") or "",
        )

    def show_new_device(self, data: dict[str, object]) -> None:
        """The bridge: someone signed in to this account from a new device."""
        self.new_device_session = int(data.get("session_id") or 0)  # type: ignore[call-overload]
        at = str(data.get("at") or "")
        try:
            when = formatting.local_time(datetime.fromisoformat(at), zone=self.zone())
        except ValueError:
            when = ""
        self.new_device = {
            "device": str(data.get("device") or ""),
            "browser": str(data.get("browser") or ""),
            "os": str(data.get("os") or ""),
            "ip": str(data.get("ip") or ""),
            "time": when,
        }

    @rx.event
    def that_was_me(self) -> None:
        """Dismiss the new sign-in notice."""
        self.new_device_session = 0
        self.new_device = {}

    @rx.event
    async def that_was_not_me(self) -> rx.event.EventSpec:
        """End the strange session at once and go and change the password."""
        intruder = self.new_device_session
        self.that_was_me()
        if intruder and intruder != self.session_id:
            with contextlib.suppress(NotFound):  # already signed out
                await asyncio.to_thread(
                    session_flow.revoke_session,
                    user_id=self.user_id,
                    session_id=intruder,
                    acting_session_id=self.session_id,
                    ip=self.client_ip(),
                )
        return rx.redirect(routes.ACCOUNT_PASSWORD)

    def client_ip(self) -> str:
        """The browser's address as the websocket saw it."""
        return self.router.session.client_ip or ""

    def _adopt(self, principal: Principal) -> None:
        self.user_id = principal.user_id
        self.email = principal.email
        self.display_name = principal.display_name
        self.session_id = principal.session_id
        self.time_zone = principal.time_zone

    def _forget(self) -> None:
        self.user_id = 0
        self.email = ""
        self.display_name = ""
        self.session_id = 0
        self.time_zone = ""

    def login_redirect(self) -> rx.event.EventSpec:
        """Send the browser to sign-in, remembering this page."""
        return rx.redirect(routes.login_url(current_path(self)))

    @rx.event
    async def ensure_signed_in(self) -> rx.event.EventSpec | None:
        """On every signed-in page load: resolve the user or go to sign-in."""
        principal = await resolve_principal(self)
        if principal is None:
            self._forget()
            return self.login_redirect()
        self._adopt(principal)
        tabs.register(principal.user_id, self.router.session.client_token, principal.session_id)
        await self.refresh_balance()
        return None
