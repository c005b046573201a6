"""Invites page state: the user's link, QR code, offer, sums, invitees, and the binding form.

Live: when someone signs up with the link, or an invitee's first recharge
rewards (or holds) the inviter, the bridge calls `refresh` on each open
`/invites` page of the inviter (and moves the header balance); a reload reads
the same from the database.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import reflex as rx

from imgapp.core import db, formatting, i18n, routes
from imgapp.flows import invites as invite_flow
from imgapp.models import InviteStatus
from imgapp.services import invites
from imgapp.services.errors import ImgappError, describe
from imgapp.services.invites.offer import caps_text, reward_text, welcome_text
from imgapp.state.app import AppState
from imgapp.state.auth_forms import clean_invite
from imgapp.state.qr import qr_svg

_STATS = ("invited", "qualified", "rewarded", "held", "credits_earned")
_HOLD_REASONS = frozenset(r.value for r in invites.HoldReason)


def reason_label(status: str, reason: str, lang: str) -> str:
    """Why a reward is held or was rejected: a known reason translated, an operator's as written."""
    if not reason or status not in (InviteStatus.HELD, InviteStatus.REJECTED):
        return ""
    if reason in _HOLD_REASONS:
        return i18n.text(f"invite.reason.{reason}", lang)
    return reason


def _moment(value: datetime | None, zone: Any) -> str:
    return formatting.local_time(value, zone=zone) if value is not None else ""


class InvitesState(AppState):
    """Loaded on open, refreshed live; the binding form reports its outcome next to it."""

    code: str = ""
    link: str = ""
    qr_image: str = ""
    stats: dict[str, str] = dict.fromkeys(_STATS, "0")
    _invitees: list[dict[str, str]] = []
    invited_by: str = ""
    bind_until: str = ""  # when the user may still add a code ("" once they may not)
    bind_prefill: str = ""  # ?invite=CODE (signed in from an invite link)
    bind_error: str = ""
    bind_ok: bool = False
    binding: bool = False
    loaded: bool = False

    @rx.var
    def invitee_rows(self) -> list[dict[str, str]]:
        """The invitees with statuses and reasons in this browser's language."""
        return [
            {
                **row,
                "status_label": self.text(f"invite.status.{row['status']}"),
                "reason_label": reason_label(row["status"], row["reason"], self.lang),
            }
            for row in self._invitees
        ]

    @rx.var
    def reward_line(self) -> str:
        """How the reward works, with the configured amounts."""
        return self.text("invite.how", reward=reward_text(self.lang))

    @rx.var
    def welcome_line(self) -> str:
        """What the invitee gets on joining ('' when the site gives nothing)."""
        return welcome_text(self.lang)

    @rx.var
    def caps_line(self) -> str:
        """The caps on rewards, when set."""
        return caps_text(self.lang)

    @rx.var
    def poster_href(self) -> str:
        """The poster download, in this browser's language."""
        return routes.with_query(routes.API_INVITE_POSTER, lang=self.lang)

    async def _read(self) -> None:
        found = await asyncio.to_thread(db.call, invites.overview, user_id=self.user_id)
        zone = self.zone()
        self.code = found.code
        link = routes.invite_link(found.code)
        if link != self.link:
            self.link = link
            self.qr_image = qr_svg(link, scale=5)
        self.stats = {k: formatting.count(v, lang=self.lang) for k, v in found.stats.items()}
        self._invitees = [
            {
                "id": str(i.user_id),
                "email": i.email,
                "joined": _moment(i.joined_at, zone),
                "first_recharge": _moment(i.first_recharge_at, zone),
                "status": i.status,
                "reason": i.reason,
                "reward": formatting.count(i.reward, lang=self.lang) if i.reward else "",
            }
            for i in found.invitees
        ]
        self.invited_by = found.invited_by
        self.bind_until = _moment(found.bind_until, zone)
        self.loaded = True

    @rx.event
    async def load(self) -> None:
        """Read everything; `?invite=CODE` prefills the binding form."""
        self.bind_error, self.bind_ok, self.binding = "", False, False
        self.bind_prefill = clean_invite(self.router.url.query_parameters.get("invite", ""))
        if self.user_id:
            await self._read()

    async def refresh(self) -> None:
        """Read again (the bridge calls this when an invitee joined or a reward moved)."""
        if self.user_id:
            await self._read()

    @rx.event
    def copied(self) -> rx.event.EventSpec:
        """Confirm the link reached the clipboard."""
        return rx.toast.success(self.text("invite.copied"), duration=2000)

    @rx.event
    async def bind(self, form: dict[str, Any]) -> None:
        """Add the code of the person who invited this user."""
        self.bind_error, self.bind_ok = "", False
        self.binding = True
        yield
        try:
            await asyncio.to_thread(
                invite_flow.bind,
                invitee_id=self.user_id,
                code=str(form.get("invite_code", "")),
                ip=self.client_ip(),
            )
        except ImgappError as exc:
            self.bind_error = describe(exc, self.lang).message
        else:
            self.bind_ok = True
            await self._read()
            await self.refresh_balance()  # a welcome bonus, when the site gives one
        finally:
            self.binding = False
