"""API keys card on `/security`: create a key (shown once), list the keys, revoke one.

Creating a key needs a confirmed session: when the service answers
`ReauthRequired`, the form's values (never a secret) wait in `_pending`
while the card asks "confirm it's you", and the key is made right after.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import reflex as rx

from imgapp.core import db, formatting
from imgapp.services import api_keys
from imgapp.services.errors import ImgappError, NotFound, ReauthRequired, describe
from imgapp.state.reauth import FOR_KEY, ReauthState

SCOPES: tuple[str, ...] = api_keys.SCOPES
DEFAULT_DAYS = api_keys.DEFAULT_DAYS
MIN_DAYS = api_keys.MIN_DAYS
MAX_DAYS = api_keys.MAX_DAYS
# Written out so that extraction finds every key (babel.cfg).
SCOPE_KEYS = {"read": "sec.scope_read", "generate": "sec.scope_generate", "pay": "sec.scope_pay"}
STATUS_KEYS = {
    "active": "sec.key_active",
    "expired": "sec.key_expired",
    "revoked": "sec.key_revoked",
}
FIELDS = ("name", "scopes", "expires_in_days")


@dataclass(frozen=True)
class KeyView:
    """A key as the card lists it (plain values: the state is stored between events)."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    last_used_ip: str
    status: str


def _days(value: object) -> object:
    """The form's days as a whole number when it is one (the service checks the range)."""
    text = str(value or "").strip()
    if not text:
        return None  # the default
    return int(text) if text.isdigit() else text


class ApiKeysState(ReauthState):
    """The key list, the create form's outcome per field, and the key just made."""

    _keys: list[KeyView] = []
    _pending: dict[str, Any] = {}
    field_errors: dict[str, str] = {}
    create_error: str = ""
    new_key: str = ""  # shown once, until "done"
    new_key_name: str = ""
    form_version: int = 0  # a new value remounts (empties) the create form
    list_error: str = ""
    loaded: bool = False

    @rx.var
    def key_rows(self) -> list[dict[str, str]]:
        """The keys for the table (times in the account's zone)."""
        zone = self.zone()
        never = self.text("sec.key_never_used")
        rows = []
        for k in self._keys:
            used = formatting.local_time(k.last_used_at, zone=zone) if k.last_used_at else never
            rows.append(
                {
                    "id": str(k.id),
                    "name": k.name,
                    "prefix": k.prefix,
                    "scopes": " · ".join(self.text(SCOPE_KEYS[s]) for s in k.scopes),
                    "created": formatting.local_time(k.created_at, zone=zone),
                    "expires": formatting.local_time(k.expires_at, zone=zone),
                    "last_used": used,
                    "last_ip": k.last_used_ip if k.last_used_at else "",
                    "status": k.status,
                    "status_label": self.text(STATUS_KEYS[k.status]),
                }
            )
        return rows

    async def _read_keys(self) -> None:
        rows = await asyncio.to_thread(db.call_read, api_keys.list_for, user_id=self.user_id)
        self._keys = [
            KeyView(
                id=k.id or 0,
                name=k.name,
                prefix=k.prefix,
                scopes=tuple(api_keys.scope_list(k)),
                created_at=k.created_at,
                expires_at=k.expires_at,
                last_used_at=k.last_used_at,
                last_used_ip=k.last_used_ip,
                status=api_keys.status(k),
            )
            for k in rows
        ]

    @rx.event
    async def load(self) -> None:
        """The keys; a key shown on an earlier visit is not shown again."""
        self.new_key, self.new_key_name, self._pending = "", "", {}
        self.field_errors, self.create_error, self.list_error = {}, "", ""
        self.reauth_for, self.reauth_error = "", ""
        if not self.user_id:
            return
        await self._read_security()
        await self._read_keys()
        self.loaded = True

    async def _create(self, wanted: dict[str, Any]) -> None:
        self.field_errors, self.create_error = {}, ""
        try:
            made = await asyncio.to_thread(
                db.call,
                api_keys.create,
                user_id=self.user_id,
                session_id=self.session_id,
                ip=self.client_ip(),
                **wanted,
            )
        except ReauthRequired:
            self._pending = wanted
            self._ask_reauth(FOR_KEY)
            return
        except ImgappError as exc:
            public = describe(exc, self.lang)
            if public.field in FIELDS:
                self.field_errors = {public.field: public.message}
            else:
                self.create_error = public.message
            return
        self._pending = {}
        self.new_key, self.new_key_name = made.key, made.row.name
        self.form_version += 1
        await self._read_keys()

    @rx.event
    async def create(self, form: dict[str, Any]) -> None:
        """Make a key from the form (name, scopes, days); may ask to confirm first.

        A key still on screen stays until the next one is made or it is put away.
        """
        await self._create(
            {
                "name": str(form.get("name", "")),
                "scopes": [s for s in SCOPES if form.get(f"scope_{s}")],
                "expires_in_days": _days(form.get("expires_in_days")),
            }
        )

    @rx.event
    async def confirm(self, form: dict[str, Any]) -> None:
        """Confirm it's you, then make the key that was asked for."""
        if await self._reauthenticate(form) and self._pending:
            await self._create(self._pending)

    @rx.event
    def key_stored(self) -> None:
        """The person has copied the key: it leaves the page for good."""
        self.new_key, self.new_key_name = "", ""

    @rx.event
    async def revoke(self, key_id: str) -> None:
        """Revoke a key: it stops working at once."""
        self.list_error = ""
        try:
            await asyncio.to_thread(
                db.call,
                api_keys.revoke,
                user_id=self.user_id,
                key_id=int(key_id),
                ip=self.client_ip(),
            )
        except (NotFound, ValueError):
            self.list_error = self.text("sec.key_gone")
        await self._read_keys()
