"""Account `/account`: profile, time zone, email and password changes, billing, statement download.

The time zone saved here is `AppState.time_zone` at once, so every page this
tab opens next (the usage report above all) uses it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from imgapp.core import db, formatting, i18n
from imgapp.core.settings import get_settings
from imgapp.flows import security
from imgapp.flows import sessions as session_flow
from imgapp.services import accounts, ledger, passwords, two_factor, usage
from imgapp.services.errors import ImgappError, describe
from imgapp.state.app import AppState
from imgapp.state.ledger_rows import entry_row, translate_kinds

RECENT_ENTRIES = 20
# Every zone a person may choose (about 400): rendered once into the page's <select>.
ZONES: tuple[str, ...] = tuple(usage.zone_names())


class AccountState(AppState):
    """Each form reports its own outcome next to it: (`*_ok`, `*_error`)."""

    _entries: list[dict[str, str]] = []
    profile_ok: bool = False
    profile_error: str = ""
    time_zone_ok: bool = False
    time_zone_error: str = ""
    email_ok: bool = False
    email_error: str = ""
    password_ok: bool = False
    password_error: str = ""
    others_signed_out: int = 0
    statement_start: str = ""
    statement_end: str = ""
    two_factor_on: bool = False  # the email form asks for a code too

    @rx.var
    def entry_rows(self) -> list[dict[str, str]]:
        """Recent movements with their kinds in this browser's language."""
        return translate_kinds(self._entries, self.lang)

    @rx.var
    def site_zone_label(self) -> str:
        """The empty choice: follow the site's zone (named)."""
        return i18n.text("acct.time_zone_site", self.lang, zone=get_settings().imgapp_timezone)

    def _message(self, exc: ImgappError) -> str:
        return describe(exc, self.lang).message

    async def _confirm_password(self, form: dict[str, Any]) -> None:
        """Raise `WrongPassword` unless the form's current password is right."""
        await asyncio.to_thread(
            db.call_read,
            accounts.check_password,
            user_id=self.user_id,
            password=str(form.get("current_password", "")),
        )

    @rx.event
    async def load(self) -> None:
        """Recent billing and a default statement range (this month so far)."""
        self.profile_ok = self.email_ok = self.password_ok = self.time_zone_ok = False
        self.profile_error = self.email_error = self.password_error = self.time_zone_error = ""
        if not self.user_id:
            return
        self.two_factor_on = await asyncio.to_thread(
            db.call_read, two_factor.is_enabled, user_id=self.user_id
        )
        entries = await asyncio.to_thread(
            db.call_read, ledger.statement, user_id=self.user_id, limit=RECENT_ENTRIES
        )
        zone = self.zone()
        self._entries = [entry_row(e, zone=zone) for e in entries]
        today = formatting.today(zone=zone)
        self.statement_start = today.replace(day=1).isoformat()
        self.statement_end = today.isoformat()

    @rx.event
    async def save_profile(self, form: dict[str, Any]) -> None:
        """Change the display name."""
        self.profile_ok, self.profile_error = False, ""
        try:
            user = await asyncio.to_thread(
                db.call,
                accounts.update_profile,
                user_id=self.user_id,
                display_name=str(form.get("display_name", "")),
                ip=self.client_ip(),
            )
        except ImgappError as exc:
            self.profile_error = self._message(exc)
            return
        self.display_name = user.display_name
        self.profile_ok = True

    @rx.event
    async def save_time_zone(self, form: dict[str, Any]) -> None:
        """Choose the zone for dates and reports ("" follows the site's)."""
        self.time_zone_ok, self.time_zone_error = False, ""
        try:
            user = await asyncio.to_thread(
                db.call,
                accounts.set_time_zone,
                user_id=self.user_id,
                time_zone=str(form.get("time_zone", "")),
                ip=self.client_ip(),
            )
        except ImgappError as exc:
            self.time_zone_error = self._message(exc)
            return
        self.time_zone = user.time_zone
        self.time_zone_ok = True

    @rx.event
    async def change_email(self, form: dict[str, Any]) -> None:
        """Move the account to a new address once this session re-authenticates.

        The current password re-authenticates the session (with 2FA on, the
        form's `code` too), which `accounts.change_email` requires.
        """
        self.email_ok, self.email_error = False, ""
        try:
            await asyncio.to_thread(
                security.reauthenticate,
                user_id=self.user_id,
                session_id=self.session_id,
                password=str(form.get("current_password", "")),
                code=str(form.get("code", "")) or None,
                ip=self.client_ip(),
            )
            user = await asyncio.to_thread(
                db.call,
                accounts.change_email,
                user_id=self.user_id,
                session_id=self.session_id,
                new_email=str(form.get("new_email", "")),
                ip=self.client_ip(),
            )
        except ImgappError as exc:
            self.email_error = self._message(exc)
            return
        self.email = user.email
        self.email_ok = True

    @rx.event
    async def change_password(self, form: dict[str, Any]) -> None:
        """Set a new password; every other session is signed out."""
        self.password_ok, self.password_error = False, ""
        new_password = str(form.get("new_password", ""))
        try:
            await self._confirm_password(form)
            passwords.check_policy(new_password)
            new_hash = await asyncio.to_thread(passwords.hash_password, new_password)
            ended = await asyncio.to_thread(
                session_flow.change_password,
                user_id=self.user_id,
                new_hash=new_hash,
                keep_session_id=self.session_id,
                ip=self.client_ip(),
            )
        except ImgappError as exc:
            self.password_error = self._message(exc)
            return
        self.others_signed_out = len(ended)
        self.password_ok = True
