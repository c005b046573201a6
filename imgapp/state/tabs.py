"""Which browser tabs (Reflex client tokens) show which user and session; which have a socket."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

_tokens: dict[int, set[str]] = {}
_session_of: dict[str, int] = {}  # token -> the sign-in session it was resolved with
_app: Any = None


def attach(app: Any) -> None:
    """Remember the Reflex app whose sockets count as connected."""
    global _app  # noqa: PLW0603 - the one app of this process
    _app = app


def app() -> Any:
    """The attached Reflex app (None before the lifespan starts)."""
    return _app


def register(user_id: int, token: str, session_id: int = 0) -> None:
    """This tab now shows user `user_id`'s pages, signed in with session `session_id`."""
    if user_id and token:
        for other in _tokens.values():
            other.discard(token)  # a tab is signed in as one user at a time
        _tokens.setdefault(user_id, set()).add(token)
        _session_of[token] = session_id


def sessions_in_use() -> dict[int, list[tuple[int, str]]]:
    """Connected tabs by sign-in session: session id -> [(user id, token)]."""
    live = _live_tokens()
    found: dict[int, list[tuple[int, str]]] = {}
    for user_id, tokens in list(_tokens.items()):
        for token in tokens:
            session_id = _session_of.get(token, 0)
            if session_id and token in live:
                found.setdefault(session_id, []).append((user_id, token))
    return found


def users() -> list[int]:
    """Users with at least one registered tab."""
    return [u for u in list(_tokens) if connected(u)]


def _live_tokens() -> Container[str]:
    """The tokens with a socket in this process (looked up, not copied)."""
    namespace = getattr(_app, "event_namespace", None)
    return namespace.token_to_sid if namespace is not None else ()


def connected(user_id: int) -> list[str]:
    """The user's tokens that still have a socket in this process."""
    live = _live_tokens()
    tokens = _tokens.get(user_id, set())
    gone = {t for t in tokens if t not in live}
    for token in gone:
        _session_of.pop(token, None)
    tokens -= gone
    if not tokens:
        _tokens.pop(user_id, None)
    return sorted(tokens)
