"""Every page path and the rules for where a sign-in may send a person next."""

from __future__ import annotations

from urllib.parse import urlencode

from imgapp.core.settings import get_settings

DASHBOARD = "/"
RECHARGE = "/recharge"
CONSOLE = "/console"
USAGE = "/usage"
INVITES = "/invites"
ACCOUNT = "/account"
ACCOUNT_PASSWORD = "/account#password"  # noqa: S105 - the password card's anchor
SECURITY = "/security"
LOGIN = "/login"
REGISTER = "/register"

API_LOGIN = "/api/auth/login"
API_REGISTER = "/api/auth/register"
API_LOGOUT = "/api/auth/logout"
API_USAGE_REPORT = "/api/usage/report"
API_IMAGES = "/api/images"
API_UPLOADS = "/api/uploads"
API_INVITE_POSTER = "/api/invites/poster.png"

# The pages of the signed-in area, in navigation order, with their catalogue keys.
NAV: tuple[tuple[str, str], ...] = (
    (DASHBOARD, "nav.dashboard"),
    (RECHARGE, "nav.recharge"),
    (CONSOLE, "nav.console"),
    (USAGE, "nav.usage"),
    (INVITES, "nav.invites"),
    (SECURITY, "nav.security"),
    (ACCOUNT, "nav.account"),
)


SHARE = "/s"  # public pages of shared images: /s/<token>


def share_path(token: str) -> str:
    """The public page of a shared image (relative)."""
    return f"{SHARE}/{token}"


def share_url(token: str) -> str:
    """The public page of a shared image, as people paste it (absolute, on `SITE_URL`)."""
    return get_settings().site_url.rstrip("/") + share_path(token)


def upload_url(upload_id: int) -> str:
    """Where an uploaded picture is served (to its owner only)."""
    return f"{API_UPLOADS}/{upload_id}"


def safe_next(target: str | None) -> str:
    """A local path to return to after sign-in; anything else becomes the dashboard."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return DASHBOARD
    if target.startswith(("/api/", LOGIN, REGISTER)) or any(c in target for c in "\r\n\t"):
        return DASHBOARD
    return target


def with_query(path: str, **params: str) -> str:
    """`path?k=v&...`, leaving out empty values."""
    kept = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


def invite_link(code: str) -> str:
    """The link that signs a visitor up with invite code `code`."""
    return with_query(get_settings().site_url.rstrip("/") + REGISTER, invite=code)


def login_url(next_path: str | None = None, **params: str) -> str:
    """The sign-in page, remembering where to come back to."""
    target = safe_next(next_path)
    return with_query(LOGIN, next=target if target != DASHBOARD else "", **params)
