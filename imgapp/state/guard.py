"""Re-checks the session before every event of a signed-in page.

A session revoked elsewhere (sign-out in another tab, the security page, an
operator) stops working on that browser's very next event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reflex.event import Event
from reflex.middleware import Middleware
from reflex.state import StateUpdate

from imgapp.state.app import AppState, resolve_principal

if TYPE_CHECKING:
    from reflex.app import App
    from reflex.state import BaseState

_RESOLVES_ITSELF = "ensure_signed_in"


class SessionGuard(Middleware):
    """Refuse events for the signed-in area when the session is gone or changed."""

    async def preprocess(self, app: App, state: BaseState, event: Event) -> StateUpdate | None:  # noqa: ARG002 - the Middleware interface passes app
        """Let the event through, or answer with a redirect to sign-in."""
        prefix = AppState.get_full_name() + "."
        if not event.name.startswith(prefix) or event.name.endswith("." + _RESOLVES_ITSELF):
            return None
        app_state = await state.get_state(AppState)
        principal = await resolve_principal(app_state)
        if principal is not None and principal.user_id == app_state.user_id:
            return None
        redirect = app_state.login_redirect()
        app_state._forget()  # noqa: SLF001 - the guard owns this reset
        return StateUpdate(events=Event.from_event_type([redirect]))
