"""A webhook receiver on loopback: verifies each delivery as a Standard Webhooks consumer would.

`answers` scripts the status codes it replies with (consumed one per
request, the last repeating). Every request is kept with whether its
signature verified against `secret` (`standardwebhooks.Webhook.verify`:
headers present, timestamp within five minutes, HMAC-SHA256 matches).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.support.servers import ApiServer


@dataclass
class Received:
    """One delivery as it arrived."""

    headers: dict[str, str]
    body: dict[str, Any]
    verified: bool

    @property
    def webhook_id(self) -> str:
        """Its `webhook-id`."""
        return self.headers["webhook-id"]

    @property
    def event(self) -> str:
        """`start`, `progress` or `completed`."""
        return str(self.body["type"]).removeprefix("task.")


@dataclass
class Receiver:
    """What the receiver answers and what it got."""

    secret: str = ""
    answers: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0  # seconds to wait before answering (a slow receiver)
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _answer(self) -> int:
        with self._lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    async def hook(self, request: Request) -> Response:
        """`POST /hook`: verify, keep, answer the scripted status."""
        raw = (await request.body()).decode()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            Webhook(self.secret).verify(raw, headers)
            verified = True
        except (WebhookVerificationError, EmptyWebhookSecretError, ValueError):
            verified = False  # (no secret given: the test does not check signatures)
        self.received.append(Received(headers, json.loads(raw), verified))
        if self.delay:
            await asyncio.sleep(self.delay)
        return PlainTextResponse("ok", status_code=self._answer())

    async def health(self, _request: Request) -> Response:
        """Readiness for the test server."""
        return PlainTextResponse("ok")

    def app(self) -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/hook", self.hook, methods=["POST"]),
                Route("/health", self.health, methods=["GET"]),
            ]
        )


def serve(receiver: Receiver) -> ApiServer:
    """Run `receiver` on a loopback port."""
    return ApiServer(receiver.app(), health_path="/health").start()
