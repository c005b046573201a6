"""Request dependencies: the client address, the signed-in user or API key, the same-origin check.

Two kinds of caller reach the user REST API. A browser (or a script holding
the session cookie) is `CurrentUser`; state-changing routes also check that
it did not come from another site. A script with a personal API key sends
`Authorization: Bearer imgk_...` and is admitted by `key_or_user(scope)` on
the routes that name a scope; it carries no cookie, so the same-origin check
does not apply to it. Routes that take only `CurrentUser` (`/api/keys`,
`/api/auth/*`) never accept a key, and a Bearer value that is not a valid key
(the internal secret, say) never falls back to the cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from imgapp.core import db
from imgapp.core.settings import get_settings
from imgapp.services import api_keys, sessions
from imgapp.services.api_keys import KeyPrincipal
from imgapp.services.errors import ApiKeyNotAccepted, CrossSiteRequest, NotSignedIn, ScopeMissing
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


def bearer_token(request: Request) -> str | None:
    """The value of `Authorization: Bearer ...`, if the request carries one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


async def _current_user(request: Request) -> Principal:
    token = session_token(request)
    principal = await run_in_threadpool(db.call_read, sessions.resolve, token=token)
    if principal is None:
        if api_keys.looks_like_key(bearer_token(request)):
            raise ApiKeyNotAccepted
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

# Who a user REST route acts for: a session or an API key (`user_id`, `email`,
# `display_name`, `time_zone` on both).
Caller = Principal | KeyPrincipal


async def _key_caller(request: Request, key: str, scope: str) -> KeyPrincipal:
    principal = await run_in_threadpool(db.call_read, api_keys.resolve, key=key)
    if not principal.allows(scope):
        raise ScopeMissing(scope)
    if principal.needs_touch:
        await run_in_threadpool(
            db.call, api_keys.touch, key_id=principal.key_id, ip=client_ip(request)
        )
    return principal


def key_or_user(scope: str, *, writes: bool = False) -> Any:
    """A dependency: an API key with `scope`, or the signed-in session (same-origin if `writes`)."""

    async def caller(request: Request) -> Caller:
        key = bearer_token(request)
        if key is not None:
            return await _key_caller(request, key, scope)
        if writes:
            require_same_origin(request)
        return await _current_user(request)

    caller.checks_origin = writes  # type: ignore[attr-defined] - read by the hardening test
    resolved: Callable[[Request], Awaitable[Caller]] = caller
    return Depends(resolved)


ReadCaller = Annotated[Caller, key_or_user("read")]
GenerateCaller = Annotated[Caller, key_or_user("generate", writes=True)]
PayCaller = Annotated[Caller, key_or_user("pay", writes=True)]


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
