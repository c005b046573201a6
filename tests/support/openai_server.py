"""An OpenAI-compatible image API on loopback, speaking the real wire protocol.

`POST /v1/images/generations` (JSON) and `POST /v1/images/edits` (multipart,
as the SDK sends an edit: `image`, optional `mask`, the other fields as form
fields) answer according to `script`: a list of
outcomes consumed one per request, the last one repeating. Outcomes:
`b64` / `url` (success in either result format), `401`, `429`, `500`,
`content_policy`. Every request is kept in `requests` for assertions.
"""

from __future__ import annotations

import base64
import io
import threading
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.servers import ApiServer


def png(width: int = 64, height: int = 64, color: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    """A small real PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def _error(status: int, message: str, kind: str, code: str | None) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status)


@dataclass
class FakeOpenAI:
    """The server's script and what it received."""

    script: list[str] = field(default_factory=lambda: ["b64"])
    requests: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _next(self) -> str:
        with self._lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    async def generations(self, request: Request) -> Response:
        """`POST /v1/images/generations`, answered by the next scripted outcome."""
        body = await request.json()
        self.requests.append({"body": body, "auth": request.headers.get("authorization", "")})
        return self._answer(request, body)

    async def edits(self, request: Request) -> Response:
        """`POST /v1/images/edits`: its fields, and its files as received (name, type, bytes)."""
        form = await request.form()
        body: dict[str, Any] = {}
        files: dict[str, dict[str, Any]] = {}
        for name, value in form.multi_items():
            if isinstance(value, str):
                body[name] = int(value) if name == "n" else value
            else:
                files[name] = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "data": await value.read(),
                }
        self.requests.append(
            {"body": body, "files": files, "auth": request.headers.get("authorization", "")}
        )
        if "image" not in files:
            return _error(400, "image is required", "invalid_request_error", None)
        return self._answer(request, body)

    def _answer(self, request: Request, body: dict[str, Any]) -> Response:
        outcome = self._next()
        size = str(body.get("size", "64x64"))
        width, height = (int(x) for x in size.split("x"))
        image = png(width // 16, height // 16)
        if outcome == "b64":
            data = [{"b64_json": base64.b64encode(image).decode()}]
        elif outcome == "url":
            data = [{"url": f"{request.base_url}files/picture.png"}]
        elif outcome == "401":
            return _error(
                401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            )
        elif outcome == "429":
            return _error(429, "Rate limit reached for images.", "requests", "rate_limit_exceeded")
        elif outcome == "500":
            return _error(500, "The server had an error.", "server_error", None)
        elif outcome == "content_policy":
            return _error(
                400,
                "Your request was rejected as a result of our safety system.",
                "invalid_request_error",
                "content_policy_violation",
            )
        else:
            msg = f"unknown outcome {outcome!r}"
            raise ValueError(msg)
        return JSONResponse({"created": 1_700_000_000, "data": data})

    async def file(self, _request: Request) -> Response:
        """The file a `url` result points at."""
        return Response(png(32, 32), media_type="image/png")

    def app(self) -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/v1/images/generations", self.generations, methods=["POST"]),
                Route("/v1/images/edits", self.edits, methods=["POST"]),
                Route("/files/picture.png", self.file, methods=["GET"]),
            ]
        )


def serve(fake: FakeOpenAI) -> ApiServer:
    """Run `fake` on a loopback port (health-checked through /files)."""
    return ApiServer(fake.app(), health_path="/files/picture.png").start()
