"""The request id and the request metrics: a pure ASGI middleware around the whole app.

Each HTTP request gets an id (its `X-Request-ID` when that is a sane token,
else a new one), answered in the `X-Request-ID` header and carried by every
log line written while serving it (`core.logs.REQUEST_ID`). When the answer
is done, `imgapp_http_requests_total` and `imgapp_http_request_duration_seconds`
count it by route template (`/api/payments/{order_id}`, never the raw path;
pages and assets are `unmatched`), and `imgapp.access` logs one line (INFO
for `/api`, DEBUG for the rest; path without its query string).
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgapp.core import logs, metrics

access_log = logging.getLogger("imgapp.access")
_SERVER_ERROR = 500


def _presented_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return value.decode("latin-1").strip()
    return None


def route_template(scope: Scope) -> str:
    """The path template of the route that answered, after routing."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else metrics.UNMATCHED_ROUTE


class RequestTelemetry:
    """Request id in, request id out; every answer counted and timed by its route."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with its id set; count it when it is done."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = logs.accept_request_id(_presented_id(scope))
        token = logs.REQUEST_ID.set(request_id)
        started = time.perf_counter()
        answer = {"status": _SERVER_ERROR}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                MutableHeaders(scope=message)[logs.REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route, method, path = route_template(scope), scope.get("method", ""), scope["path"]
            metrics.record_request(route, method, answer["status"], seconds)
            access_log.log(
                logging.INFO if path.startswith("/api/") else logging.DEBUG,
                "%s %s %s %.1f ms",
                method,
                path,
                answer["status"],
                seconds * 1000,
                extra={
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": answer["status"],
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            logs.REQUEST_ID.reset(token)
