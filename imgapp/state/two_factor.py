"""Two-factor card on `/security`: turn it on (QR code, secret, a code), off, new recovery codes.

Recovery codes live in this state only between the answer that made them and
the person's "done" (or leaving the page): they are never read back, since
the database keeps only their hashes. The download is built in the browser
from exactly the codes on screen.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from imgapp.core import db, formatting
from imgapp.flows import security
from imgapp.services import two_factor
from imgapp.services.errors import ImgappError, ReauthRequired, TwoFactorAlreadyOn, TwoFactorOff
from imgapp.state.qr import qr_svg
from imgapp.state.reauth import FOR_CODES, ReauthState

CODES_FILE = "imgapp-recovery-codes.txt"
SECRET_GROUP = 4


class TwoFactorState(ReauthState):
    """The card's status and its three forms (code to turn on, password + code to turn off)."""

    _enabled_at: str = ""
    codes_left: int = 0
    setting_up: bool = False
    secret: str = ""  # the pending secret, while setting up
    qr_image: str = ""
    setup_error: str = ""
    recovery_codes: list[str] = []  # shown once, right after they were made
    codes_error: str = ""
    turning_off: bool = False
    off_error: str = ""
    turned_off: bool = False
    loaded: bool = False

    @rx.var
    def secret_groups(self) -> str:
        """The secret in groups of four, easier to type: 'JBSW Y3DP EHPK 3PXP'."""
        s = self.secret
        return " ".join(s[i : i + SECRET_GROUP] for i in range(0, len(s), SECRET_GROUP))

    @rx.var
    def codes_text(self) -> str:
        """The codes on screen, one a line (what the copy button and the file hold)."""
        return "".join(f"{c}\n" for c in self.recovery_codes)

    @rx.var
    def status_text(self) -> str:
        """Since when it is on and how many recovery codes are left."""
        if not self.two_factor_on:
            return ""
        return self.text("sec.tfa_on_since", time=self._enabled_at, left=self.codes_left)

    async def _read(self) -> None:
        found = await asyncio.to_thread(db.call_read, two_factor.status, user_id=self.user_id)
        self.two_factor_on = found.enabled
        self.codes_left = found.codes_left
        at = found.enabled_at
        self._enabled_at = formatting.local_time(at, zone=self.zone()) if at else ""

    @rx.event
    async def load(self) -> None:
        """The status; nothing half-done from an earlier visit is shown again."""
        self.setting_up, self.turning_off, self.turned_off = False, False, False
        self.secret, self.qr_image, self.recovery_codes = "", "", []
        self.setup_error = self.codes_error = self.off_error = ""
        self.reauth_for, self.reauth_error = "", ""
        if not self.user_id:
            return
        await self._read_security()
        await self._read()
        self.loaded = True

    @rx.event
    async def start_setup(self) -> None:
        """A new pending secret, shown as a QR code and as text."""
        self.setup_error, self.turned_off = "", False
        try:
            found = await asyncio.to_thread(security.start_two_factor, user_id=self.user_id)
        except TwoFactorAlreadyOn:  # turned on in another tab
            await self._read()
            return
        self.secret = found.secret
        self.qr_image = qr_svg(found.otpauth_uri, scale=5)
        self.setting_up = True

    @rx.event
    def cancel_setup(self) -> None:
        """Leave it off (the pending secret is replaced the next time)."""
        self.setting_up, self.secret, self.qr_image, self.setup_error = False, "", "", ""

    @rx.event
    async def enable(self, form: dict[str, Any]) -> None:
        """Turn it on with a code from the app; the recovery codes appear, once."""
        self.setup_error = ""
        try:
            codes = await asyncio.to_thread(
                security.enable_two_factor,
                user_id=self.user_id,
                code=str(form.get("code", "")),
                ip=self.client_ip(),
            )
        except ImgappError as exc:
            self.setup_error = self._message(exc)
            return
        self.setting_up, self.secret, self.qr_image = False, "", ""
        self.recovery_codes = codes
        await self._read()

    @rx.event
    def download_codes(self) -> rx.event.EventSpec:
        """The codes on screen as a text file, made in the browser (one code a line)."""
        return rx.download(data=self.codes_text, filename=CODES_FILE)

    @rx.event
    def codes_stored(self) -> None:
        """The person has put the codes away: they leave the page for good."""
        self.recovery_codes = []

    async def _new_codes(self) -> None:
        self.codes_error = ""
        try:
            codes = await asyncio.to_thread(
                security.regenerate_recovery_codes,
                user_id=self.user_id,
                session_id=self.session_id,
                ip=self.client_ip(),
            )
        except ReauthRequired:
            self._ask_reauth(FOR_CODES)
            return
        except TwoFactorOff:
            await self._read()
            return
        self.recovery_codes = codes
        await self._read()

    @rx.event
    async def new_codes(self) -> None:
        """Ten new recovery codes (the old ones stop working); may ask to confirm first."""
        self.turning_off = False
        await self._new_codes()

    @rx.event
    async def confirm(self, form: dict[str, Any]) -> None:
        """Confirm it's you, then make the new codes that were asked for."""
        if await self._reauthenticate(form):
            await self._new_codes()

    @rx.event
    def open_turn_off(self) -> None:
        """Show the password and code form that turns it off."""
        self.turning_off, self.off_error, self.reauth_for = True, "", ""

    @rx.event
    def cancel_turn_off(self) -> None:
        """Keep it on."""
        self.turning_off, self.off_error = False, ""

    @rx.event
    async def turn_off(self, form: dict[str, Any]) -> None:
        """Turn it off with the password and a code (or a recovery code)."""
        self.off_error = ""
        try:
            await asyncio.to_thread(
                security.disable_two_factor,
                user_id=self.user_id,
                session_id=self.session_id,
                password=str(form.get("password", "")),
                code=str(form.get("code", "")),
                ip=self.client_ip(),
            )
        except TwoFactorOff:
            pass  # already off (another tab): show it as it is
        except ImgappError as exc:
            self.off_error = self._message(exc)
            return
        self.turning_off, self.recovery_codes, self.turned_off = False, [], True
        await self._read_security()
        await self._read()
