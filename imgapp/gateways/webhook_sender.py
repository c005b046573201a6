"""POSTing one signed webhook message: the only code that reaches a caller's receiver.

Before connecting, the receiver's name is resolved and every address it has
is checked: a private, loopback or link-local one is refused (a message that
fails for good) unless `WEBHOOK_ALLOW_PRIVATE_URLS`. Redirects are not
followed (a 3xx counts as a failed try); the answer's body is not read past
its first bytes.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from imgapp.services.webhooks import is_private_address


@dataclass(frozen=True)
class Sent:
    """How one try went: the receiver's status (None: no answer) and what went wrong."""

    status_code: int | None
    error: str = ""
    refused: bool = False  # the target itself is not allowed: no retry will help


async def _private_target(url: str) -> str | None:
    """The private address `url`'s host resolves to, if any (None: all public)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for info in infos:
        address = str(info[4][0])
        if is_private_address(address):
            return address
    return None


async def send(
    client: httpx.AsyncClient,
    url: str,
    *,
    body: str,
    headers: dict[str, str],
    allow_private: bool,
) -> Sent:
    """One POST of `body` to `url`."""
    try:
        if not allow_private and (address := await _private_target(url)):
            return Sent(None, f"refused: the receiver resolves to {address}", refused=True)
        response = await client.post(url, content=body.encode(), headers=headers)
    except (OSError, httpx.HTTPError) as exc:
        return Sent(None, f"{type(exc).__name__}: {exc}"[:255])
    error = "" if response.is_success else f"HTTP {response.status_code}"
    return Sent(response.status_code, error)
