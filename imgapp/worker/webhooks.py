"""The webhook sender: every second, the due messages are signed and POSTed, at most 8 at once.

One task's messages go one after another, oldest first, so a receiver hears
`start`, then `progress`, then `completed`; different tasks' go side by side.

It runs where the task processor runs (in the app's scheduler, or in
`python -m imgapp.worker`), never in a request: the web process answers the
API caller at once and the message follows. A round leases what is due (one
transaction), sends it outside any transaction with one shared HTTP client,
and records each try (one transaction each). A sender that dies mid-round
leaves its lease to run out: the message is due again a minute later, with
the same `webhook-id`, which is what receivers de-duplicate on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import httpx

from imgapp.core.settings import get_settings
from imgapp.flows import webhooks as webhook_flow
from imgapp.gateways import webhook_sender
from imgapp.services import webhooks

log = logging.getLogger(__name__)

ROUND_SIZE = 32  # messages leased per round
AT_ONCE = 8  # POSTs in flight at once


class Sender:
    """Delivers due webhook messages; one per processing process."""

    def __init__(self) -> None:
        """Nothing is opened until the first round."""
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=get_settings().webhook_timeout_seconds,
                follow_redirects=False,
                headers={"user-agent": "imgapp-webhooks/1"},
            )
        return self._client

    async def _one(self, attempt: webhooks.Attempt, gate: asyncio.Semaphore) -> None:
        settings = get_settings()
        async with gate:
            headers = webhook_sender.signed_headers(
                attempt.secret,
                message_id=attempt.message_id,
                body=attempt.body,
                at=datetime.now(UTC),
            )
            sent = await webhook_sender.send(
                self._http(),
                attempt.url,
                body=attempt.body,
                headers=headers,
                allow_private=settings.webhook_allow_private_urls,
                seconds=settings.webhook_timeout_seconds,
            )
        status = await asyncio.to_thread(
            webhook_flow.record,
            delivery_id=attempt.delivery_id,
            status_code=sent.status_code,
            error=sent.error,
            final=sent.refused,
        )
        if status.value == "failed":
            log.warning(
                "webhook %s to %s failed for good: %s",
                attempt.message_id,
                webhook_sender.where(attempt.url),
                sent.error,
            )

    async def round(self) -> int:
        """Send what is due now; answers how many were tried."""
        due = await asyncio.to_thread(webhook_flow.claim_due, limit=ROUND_SIZE)
        if due:
            gate = asyncio.Semaphore(AT_ONCE)
            by_task: dict[int, list[webhooks.Attempt]] = {}
            for attempt in due:  # oldest first
                by_task.setdefault(attempt.task_id, []).append(attempt)
            await asyncio.gather(*(self._in_order(group, gate) for group in by_task.values()))
        return len(due)

    async def _in_order(self, group: list[webhooks.Attempt], gate: asyncio.Semaphore) -> None:
        """One task's messages one after another (start before progress before completed)."""
        for attempt in group:
            await self._one(attempt, gate)

    async def safe_round(self) -> None:
        """`round`, logging (not raising) what went wrong: the next second tries again."""
        try:
            await self.round()
        except Exception:
            log.exception("webhook round failed; the next one retries")

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None
