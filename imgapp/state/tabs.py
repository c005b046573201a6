"""Which browser tabs (Reflex client tokens) show which user and session; which have a socket."""

from __future__ import annotations

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


def session_of(token: str) -> int:
    """The sign-in session the tab was last resolved with (0: unknown)."""
    return _session_of.get(token, 0)


def sessions_in_use() -> dict[int, list[tuple[int, str]]]:
    """Connected tabs by sign-in session: session id -> [(user id, token)]."""
    found: dict[int, list[tuple[int, str]]] = {}
    for user_id in users():
        for token in connected(user_id):
            session_id = _session_of.get(token, 0)
            if session_id:
                found.setdefault(session_id, []).append((user_id, token))
    return found


def users() -> list[int]:
    """Users with at least one registered tab."""
    return [u for u in list(_tokens) if connected(u)]


def connected(user_id: int) -> list[str]:
    """The user's tokens that still have a socket in this process."""
    namespace = getattr(_app, "event_namespace", None)
    live = set(namespace.token_to_sid) if namespace is not None else set()
    tokens = _tokens.get(user_id, set())
    for gone in tokens - live:
        _session_of.pop(gone, None)
    tokens &= live
    if not tokens:
        _tokens.pop(user_id, None)
    return sorted(tokens)
