"""The signed-in area's root state: who is signed in, resolved from the session cookie.

The browser's HttpOnly cookie reaches the backend with the websocket
handshake (`router.headers.cookie`); scripts on the page never see it. Every
page load re-reads the principal (name, email, time zone) from the database.
"""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import reflex as rx

from imgapp.core import db, formatting, routes
from imgapp.services import ledger, sessions, usage
from imgapp.services.errors import ValidationFailed
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
        tabs.register(principal.user_id, self.router.session.client_token)
        await self.refresh_balance()
        return None
