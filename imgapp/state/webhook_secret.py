"""The webhook signing secret on `/security`: shown on request, replaced after "confirm it's you".

The secret signs every task webhook of the person's (Standard Webhooks). It
is read only when "show" is clicked and leaves the page on "hide" or the
next visit; a new one needs a session confirmed in the last 10 minutes, so
a refused rotation asks first and then rotates (`confirm`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from imgapp.core import i18n
from imgapp.flows import webhooks as webhook_flow
from imgapp.services.errors import ImgappError, ReauthRequired
from imgapp.state.reauth import FOR_SECRET, ReauthState


class WebhookSecretState(ReauthState):
    """The secret while shown, and what went wrong."""

    secret: str = ""
    secret_error: str = ""

    @rx.event
    async def load(self) -> None:
        """Nothing shown until asked."""
        self.secret, self.secret_error = "", ""
        if self.user_id:
            await self._read_security()

    @rx.event
    async def reveal(self) -> None:
        """Show the secret (made now if this is the first time)."""
        self.secret_error = ""
        try:
            self.secret = await asyncio.to_thread(webhook_flow.secret, user_id=self.user_id)
        except ImgappError as exc:
            self.secret_error = self._message(exc)

    @rx.event
    def hide(self) -> None:
        """Take the secret off the page."""
        self.secret = ""

    async def _rotate(self) -> str:
        """A new secret; answers the notice to show ("" when confirmation was asked)."""
        self.secret_error = ""
        try:
            self.secret = await asyncio.to_thread(
                webhook_flow.rotate_secret,
                user_id=self.user_id,
                session_id=self.session_id,
                ip=self.client_ip(),
            )
        except ReauthRequired:
            self._ask_reauth(FOR_SECRET)
            return ""
        except ImgappError as exc:
            self.secret_error = self._message(exc)
            return ""
        return i18n.text("sec.webhook_rotated", self.lang)

    @rx.event
    async def rotate(self) -> None:
        """Replace the secret (asks "confirm it's you" first when needed)."""
        if notice := await self._rotate():
            yield rx.toast.success(notice)

    @rx.event
    async def confirm(self, form: dict[str, Any]) -> None:
        """Confirm it's you, then replace the secret."""
        if await self._reauthenticate(form) and (notice := await self._rotate()):
            yield rx.toast.success(notice)
