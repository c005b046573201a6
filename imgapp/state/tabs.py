"""Which browser tabs (Reflex client tokens) show which user, and which still have a socket."""

from __future__ import annotations

from typing import Any

_tokens: dict[int, set[str]] = {}
_app: Any = None


def attach(app: Any) -> None:
    """Remember the Reflex app whose sockets count as connected."""
    global _app  # noqa: PLW0603 - the one app of this process
    _app = app


def app() -> Any:
    """The attached Reflex app (None before the lifespan starts)."""
    return _app


def register(user_id: int, token: str) -> None:
    """This tab now shows user `user_id`'s pages."""
    if user_id and token:
        for other in _tokens.values():
            other.discard(token)  # a tab is signed in as one user at a time
        _tokens.setdefault(user_id, set()).add(token)


def users() -> list[int]:
    """Users with at least one registered tab."""
    return [u for u in list(_tokens) if connected(u)]


def connected(user_id: int) -> list[str]:
    """The user's tokens that still have a socket in this process."""
    namespace = getattr(_app, "event_namespace", None)
    live = set(namespace.token_to_sid) if namespace is not None else set()
    tokens = _tokens.get(user_id, set())
    tokens &= live
    if not tokens:
        _tokens.pop(user_id, None)
    return sorted(tokens)
