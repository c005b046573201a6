"""Signing and POSTing one webhook message: the only code that reaches a caller's receiver.

Before connecting, the receiver's name is resolved once and every address it
has is checked: a private, loopback or link-local one is refused (a message
that fails for good) unless `WEBHOOK_ALLOW_PRIVATE_URLS`. The POST then goes
to the very address that was checked (the URL's name kept in `Host` and, for
https, in SNI and the certificate check), so a second DNS answer cannot point
it elsewhere. Redirects are not followed (a 3xx counts as a failed try); the
answer's body is never read; the whole try, connecting included, has
`WEBHOOK_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from imgapp.services.webhooks import is_private_address


def signed_headers(secret: str, *, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for one try at one message.

    `standardwebhooks` signs: `webhook-signature: v1,<base64 HMAC-SHA256 of
    "id.timestamp.body">` with the owner's `whsec_` secret.
    """
    return {
        "content-type": "application/json",
        "user-agent": "imgapp-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


@dataclass(frozen=True)
class Sent:
    """How one try went: the receiver's status (None: no answer) and what went wrong."""

    status_code: int | None
    error: str = ""
    refused: bool = False  # the target itself is not allowed: no retry will help


async def _addresses(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _pinned(url: httpx.URL, address: str) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL aimed at `address`, the Host header and (https) SNI name it must keep."""
    host = url.host
    netloc = host if url.port is None else f"{host}:{url.port}"
    aimed = url.copy_with(host=address)
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    return aimed, {"host": netloc}, extensions


async def _post(
    client: httpx.AsyncClient,
    url: str,
    body: str,
    headers: dict[str, str],
    *,
    allow_private: bool,
) -> Sent:
    target = httpx.URL(url)
    extensions: dict[str, str] = {}
    if not allow_private:
        port = target.port or (443 if target.scheme == "https" else 80)
        addresses = await _addresses(target.host, port)
        if not addresses:
            return Sent(None, "the receiver's name has no address")
        if private := next((a for a in addresses if is_private_address(a)), None):
            return Sent(None, f"refused: the receiver resolves to {private}", refused=True)
        target, host_header, extensions = _pinned(target, addresses[0])
        headers = {**headers, **host_header}
    request = client.build_request(
        "POST", target, content=body.encode(), headers=headers, extensions=extensions
    )
    response = await client.send(request, stream=True)  # the status is all we need
    await response.aclose()
    error = "" if response.is_success else f"HTTP {response.status_code}"
    return Sent(response.status_code, error)


async def send(
    client: httpx.AsyncClient,
    url: str,
    *,
    body: str,
    headers: dict[str, str],
    allow_private: bool,
    seconds: float,
) -> Sent:
    """One POST of `body` to `url`, within `seconds` in all (connecting included)."""
    try:
        async with asyncio.timeout(seconds):
            return await _post(client, url, body, headers, allow_private=allow_private)
    except TimeoutError:
        return Sent(None, f"no answer within {seconds:g} s")
    except httpx.InvalidURL as exc:
        return Sent(None, f"refused: not a usable URL ({exc})"[:255], refused=True)
    except (OSError, httpx.HTTPError) as exc:
        return Sent(None, f"{type(exc).__name__}: {exc}"[:255])
    except Exception as exc:  # noqa: BLE001 - one odd receiver must not stop the others
        return Sent(None, f"{type(exc).__name__}: {exc}"[:255])


def where(url: str) -> str:
    """The scheme and host of a receiver, for logs (its path and query may hold tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"
