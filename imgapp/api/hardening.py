"""Two pure ASGI middlewares: security headers on every answer, and a request size limit.

Both wrap the whole application `create_api` builds, and with `make run`
(one port) that includes the UI: Reflex mounts its backend and the built
pages inside this app (`api_transformer`), so pages, `/_event` and `/api`
all pass through here.

`SecurityHeaders` adds `X-Content-Type-Options`, `Referrer-Policy`,
`X-Frame-Options`, HSTS when `SITE_URL` is https, and a Content-Security-Policy.
Pages get one that allows what the built Reflex frontend needs and nothing
else: its own scripts, its inline scripts by hash (read from the built HTML),
`eval` (Reflex runs toasts and scripts the backend sends through it), inline
styles (Radix and emotion), data:/blob: images (QR codes, downloads) and the
websocket to `SITE_URL`. `/api/docs` gets the Swagger UI's CDN.

`nginx_headers` writes the same headers as nginx `map`s, for nginx serving the
static build itself (`deploy/nginx/imgapp.conf`): `python -m imgapp.api.hardening
nginx PAGES_DIR` after every build, so the page CSP hashes that build's scripts.

`BodyLimit` answers 413 with the usual error JSON when a request declares a
`Content-Length` over the limit, before the app sees it, or when a streamed
body grows past it (then whatever the app started to answer is dropped).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgapp.api.responses import error_response
from imgapp.core.settings import get_settings
from imgapp.services.errors import BodyTooLarge

WEBHOOK_PATH = "/api/payments/webhook"
WEBHOOK_MAX_BODY_BYTES = 64 * 1024  # XorPay's notification is a short form
# The routes that take uploaded pictures: the API's edit, and the pages' uploads.
UPLOAD_PATHS = frozenset({"/api/generate-image/edits", "/_upload"})
UPLOAD_FORM_BYTES = 256 * 1024  # the form's other fields and the multipart framing
HSTS = "max-age=63072000"
DOCS_PATHS = ("/api/docs", "/docs/oauth2-redirect")
_SWAGGER_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)

_pages_dir: Path | None = None
_hash_lock = threading.Lock()
_hash_cache: tuple[tuple[tuple[str, float], ...], tuple[str, ...]] = ((), ())


def serve_pages_from(directory: Path | None) -> None:
    """Where the built pages are (their inline scripts are allowed by hash)."""
    global _pages_dir  # noqa: PLW0603 - set once by the app at start-up
    _pages_dir = directory


def _html_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.html")) if directory.is_dir() else []


def inline_script_hashes(directory: Path | None = None) -> tuple[str, ...]:
    """CSP sources (`'sha256-...'`) for every inline script of the built pages.

    Re-read when a page file changes (a rebuild), otherwise answered from memory.
    """
    global _hash_cache  # noqa: PLW0603 - a cache of files on disk
    found = directory or _pages_dir
    if found is None:
        return ()
    files = _html_files(found)
    stamp = tuple((str(p), p.stat().st_mtime) for p in files)
    with _hash_lock:
        if stamp == _hash_cache[0]:
            return _hash_cache[1]
        hashes: set[str] = set()
        for path in files:
            for body in _INLINE_SCRIPT.findall(path.read_bytes()):
                if body.strip():
                    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
                    hashes.add(f"'sha256-{digest}'")
        _hash_cache = (stamp, tuple(sorted(hashes)))
        return _hash_cache[1]


def _websocket_origin(site_url: str) -> str:
    parts = urlsplit(site_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}"


def page_policy() -> str:
    """The Content-Security-Policy of pages (and of every other answer)."""
    scripts = " ".join(("'self'", "'unsafe-eval'", *inline_script_hashes()))
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            f"connect-src 'self' {_websocket_origin(get_settings().site_url)}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def docs_policy() -> str:
    """The Swagger UI at `/api/docs` loads its script and styles from a CDN."""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'unsafe-inline' {_SWAGGER_CDN}",
            f"style-src 'self' 'unsafe-inline' {_SWAGGER_CDN}",
            "img-src 'self' data: https://fastapi.tiangolo.com",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
        )
    )


def security_headers(path: str, content_type: str) -> dict[str, str]:
    """The headers every answer to `path` carries."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
    }
    if content_type.startswith("text/html") or not content_type:
        headers["Content-Security-Policy"] = (
            docs_policy() if path.startswith(DOCS_PATHS) else page_policy()
        )
    else:
        # Not a document: nothing in it may run or load anything.
        headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    if get_settings().secure_cookies:  # SITE_URL is https
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeaders:
    """Adds `security_headers` to every HTTP answer (a header the app set is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the answer's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                content_type = headers.get("content-type", "")
                for name, value in security_headers(path, content_type).items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The headers nginx sends with the static build, in the order of `deploy/nginx/imgapp.conf`.
NGINX_HEADERS = (
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
)


def nginx_variable(header: str) -> str:
    """The nginx variable `nginx_headers` defines for `header`: `$imgapp_x_frame_options`."""
    return "$imgapp_" + header.lower().replace("-", "_")


def nginx_headers(pages_dir: Path) -> str:
    """The nginx `map`s (http level) giving every static answer the headers this app sends.

    Keyed on the answer's content type as `security_headers` is: an HTML page
    gets the page policy with the inline-script hashes of the build in
    `pages_dir`, anything else the policy that lets nothing run. A header the
    app would not send (HSTS on http) maps to "", which nginx leaves out.
    """
    if not _html_files(pages_dir):
        msg = f"no built pages (*.html) in {pages_dir}: build the frontend first"
        raise FileNotFoundError(msg)
    global _pages_dir  # noqa: PLW0603 - the policy is computed for that build
    previous, _pages_dir = _pages_dir, pages_dir
    try:
        page = security_headers("/", "text/html; charset=utf-8")
        other = security_headers("/assets/app.js", "text/javascript")
    finally:
        _pages_dir = previous
    lines = [
        "# Generated by `python -m imgapp.api.hardening nginx` from the build in",
        f"# {pages_dir}: the headers imgapp sends, for nginx serving that build.",
        "# Regenerate after every build (the page policy hashes its inline scripts).",
    ]
    for header in NGINX_HEADERS:
        for value in (page.get(header, ""), other.get(header, "")):
            if '"' in value or "$" in value or "\\" in value:
                msg = f"{header} cannot be written into nginx's configuration: {value!r}"
                raise ValueError(msg)
        lines += [
            f"map $sent_http_content_type {nginx_variable(header)} {{",
            f'    default "{other.get(header, "")}";',
            f'    "" "{page.get(header, "")}";',
            f'    "~^text/html" "{page.get(header, "")}";',
            "}",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m imgapp.api.hardening nginx PAGES_DIR`: print `nginx_headers`."""
    import argparse  # noqa: PLC0415 - only the command line needs it
    import sys  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m imgapp.api.hardening")
    sub = parser.add_subparsers(dest="command", required=True)
    nginx = sub.add_parser("nginx", help="nginx maps of the security headers for a build")
    nginx.add_argument("pages_dir", type=Path, help="the built frontend (.web/build/client)")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(nginx_headers(args.pages_dir.resolve()))
    except (FileNotFoundError, ValueError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    return 0


def body_limit(path: str) -> int:
    """The most bytes a request body to `path` may have.

    `MAX_BODY_BYTES`; the payment webhook less; the routes that take pictures
    (an edit's picture and mask) room for two files of `UPLOAD_MAX_BYTES`.
    """
    settings = get_settings()
    limit = settings.max_body_bytes
    if path == WEBHOOK_PATH:
        return min(limit, WEBHOOK_MAX_BODY_BYTES)
    if path in UPLOAD_PATHS:
        return max(limit, 2 * settings.upload_max_bytes + UPLOAD_FORM_BYTES)
    return limit


def _lang(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            return "zh" if value.decode("latin-1").strip().lower().startswith("zh") else "en"
    return "en"


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class _TooLargeError(Exception):
    """The body went past the limit while being read."""


class BodyLimit:
    """413 for a body over `body_limit`: by its Content-Length, or counted as it streams."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = error_response(BodyTooLarge(limit_kb=max(1, limit // 1024)), _lang(scope))
        response.headers["Connection"] = "close"
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse early by the declared length, else count what arrives."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope.get("path", ""))
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        state = {"received": 0, "exceeded": False, "started": False}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise _TooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            if state["exceeded"]:
                return  # the app's answer to a body it could not finish reading
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not state["exceeded"]:
                raise
        if state["exceeded"] and not state["started"]:
            await self._refuse(scope, receive, send, limit)


if __name__ == "__main__":
    raise SystemExit(main())
