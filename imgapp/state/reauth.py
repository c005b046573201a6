"""What the security page's credential cards share: 2FA on or off, "confirm it's you".

New recovery codes and a new API key answer `ReauthRequired` unless this
session confirmed the password (and, with 2FA on, a code) in the last 10
minutes. The card whose action was refused shows the form (`reauth_for`);
its state's `confirm` calls `_reauthenticate` and then does the action again.
Both cards' states inherit these vars, so one confirmation serves both.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import reflex as rx

from imgapp.core import db, formatting
from imgapp.flows import security
from imgapp.models.base import utcnow
from imgapp.services import two_factor
from imgapp.services.errors import ImgappError, OtpRequired, describe
from imgapp.state.app import AppState

FOR_CODES = "codes"
FOR_KEY = "key"
FOR_SECRET = "webhook_secret"  # noqa: S105 - which card asks, not a secret


class ReauthState(AppState):
    """Whether 2FA is on, until when this session is confirmed, and which action waits."""

    two_factor_on: bool = False
    _reauth_until: datetime | None = None
    reauth_for: str = ""  # the action waiting for a confirmation: FOR_CODES, FOR_KEY, ... or ""
    reauth_error: str = ""

    @rx.var
    def reauth_until_text(self) -> str:
        """Until when sensitive actions need no new confirmation ('' when they do)."""
        until = self._reauth_until
        if until is None or until <= utcnow():
            return ""
        return formatting.local_time(until, zone=self.zone())

    def _message(self, exc: ImgappError) -> str:
        return describe(exc, self.lang).message

    async def _read_security(self) -> None:
        """Whether 2FA is on, and until when this session counts as confirmed."""
        self.two_factor_on = await asyncio.to_thread(
            db.call_read, two_factor.is_enabled, user_id=self.user_id
        )
        self._reauth_until = await asyncio.to_thread(
            security.reauthenticated_until, user_id=self.user_id, session_id=self.session_id
        )

    def _ask_reauth(self, action: str) -> None:
        """Show the confirmation form in the card of `action`."""
        self._reauth_until = None
        self.reauth_for, self.reauth_error = action, ""

    async def _reauthenticate(self, form: dict[str, Any]) -> bool:
        """Check the form's password (and code); True when the session is confirmed."""
        self.reauth_error = ""
        try:
            self._reauth_until = await asyncio.to_thread(
                security.reauthenticate,
                user_id=self.user_id,
                session_id=self.session_id,
                password=str(form.get("password", "")),
                code=str(form.get("code", "")) or None,
                ip=self.client_ip(),
            )
        except ImgappError as exc:
            if isinstance(exc, OtpRequired):  # turned on elsewhere since this page loaded
                self.two_factor_on = True
            self.reauth_error = self._message(exc)
            return False
        self.reauth_for = ""
        return True

    @rx.event
    def copied(self) -> rx.event.EventSpec:
        """Say the secret or the key is on the clipboard."""
        return rx.toast.success(self.text("sec.copied"), duration=2000)

    @rx.event
    def cancel_reauth(self) -> None:
        """Close the confirmation form without doing the action."""
        self.reauth_for, self.reauth_error = "", ""
