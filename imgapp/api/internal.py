"""The guard for internal (server-to-server) routes: a shared secret, compared in constant time.

The secret may come as `Authorization: Bearer <key>`, `X-API-Key: <key>` or
`x-internal-token: <key>`. Anything else is a 401 JSON answer.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Depends, Request
from pydantic import SecretStr

from imgapp.core.settings import Settings, get_settings
from imgapp.services.errors import BadInternalKey


def presented_secret(request: Request) -> str | None:
    """The secret the caller sent, from whichever header carries it."""
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    for header in ("x-api-key", "x-internal-token"):
        if value := request.headers.get(header, "").strip():
            return value
    return None


def _matches(presented: str, secrets: list[SecretStr | None]) -> bool:
    given = presented.encode()
    found = False
    for secret in secrets:  # compare against all, so timing does not tell which matched
        expected = secret.get_secret_value().encode() if secret else b""
        found |= bool(expected) and hmac.compare_digest(given, expected)
    return found


def require_secret(*pick: Callable[[Settings], SecretStr | None]) -> object:
    """A dependency that admits a caller presenting any of the picked secrets."""

    def guard(request: Request) -> None:
        presented = presented_secret(request)
        settings = get_settings()
        if presented is None or not _matches(presented, [p(settings) for p in pick]):
            raise BadInternalKey

    return Depends(guard)


InternalKey = require_secret(lambda s: s.internal_api_key)
