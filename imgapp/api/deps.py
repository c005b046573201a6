"""Request dependencies: the client address, the signed-in user, the same-origin check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from imgapp.core import db
from imgapp.core.settings import get_settings
from imgapp.services import sessions
from imgapp.services.errors import CrossSiteRequest, NotSignedIn
from imgapp.services.sessions import Principal


@dataclass(frozen=True)
class Client:
    """Where a request came from."""

    ip: str
    user_agent: str


def client_ip(request: Request) -> str:
    """The caller's address; `X-Forwarded-For` only when the proxy is trusted."""
    if get_settings().trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:45]
    return (request.client.host if request.client else "")[:45]


def _client(request: Request) -> Client:
    return Client(ip=client_ip(request), user_agent=request.headers.get("user-agent", "")[:512])


ClientDep = Annotated[Client, Depends(_client)]


def session_token(request: Request) -> str | None:
    """The session token from the HttpOnly cookie."""
    return request.cookies.get(sessions.COOKIE_NAME) or None


async def _current_user(request: Request) -> Principal:
    token = session_token(request)
    principal = await run_in_threadpool(db.call_read, sessions.resolve, token=token)
    if principal is None:
        raise NotSignedIn
    if principal.needs_touch:
        await run_in_threadpool(
            db.call,
            sessions.touch,
            session_id=principal.session_id,
            ip=client_ip(request),
        )
    return principal


CurrentUser = Annotated[Principal, Depends(_current_user)]


def require_same_origin(request: Request) -> None:
    """Refuse state-changing requests a browser sends from another site.

    SameSite=Lax already keeps our cookie off cross-site POSTs; this also stops
    a foreign page from signing a visitor into an account of its choosing. A
    request that carries the session cookie must name its `Origin` (browsers
    send it with every POST, PUT, PATCH and DELETE); a script without the
    cookie (signing in, a bearer key) may leave it out.
    """
    origin = request.headers.get("origin")
    if not origin:
        if session_token(request) is not None:
            raise CrossSiteRequest
        return
    allowed = {
        get_settings().site_origin,
        f"{request.url.scheme}://{request.headers.get('host')}",
    }
    if origin not in allowed:
        raise CrossSiteRequest


SameOrigin = Depends(require_same_origin)
