"""A tiny publish/subscribe seam: services' callers publish, the live bridge subscribes.

In-process and thread-safe: `publish` may be called from any thread (the
processor's provider threads included); each subscriber runs on its own event
loop. Other processes' changes reach the live bridge through its database
catch-up poll, so no broker is needed for correctness.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Something a user's open pages should show: `topic` is `task` or `payment`."""

    topic: str
    user_id: int
    data: dict[str, object] = field(default_factory=dict)
    # When it was made (this process's monotonic clock): the push latency is measured from here.
    published_at: float = field(default_factory=time.monotonic, compare=False, repr=False)


@dataclass(frozen=True)
class BusHealth:
    """Whether events can travel, for `/api/health/ready`."""

    ok: bool
    detail: str


Subscriber = Callable[[Event], Awaitable[None]]
_subscribers: list[tuple[asyncio.AbstractEventLoop, Subscriber]] = []


def subscribe(callback: Subscriber) -> Callable[[], None]:
    """Call `callback(event)` on the current loop for every event; returns an unsubscriber."""
    entry = (asyncio.get_running_loop(), callback)
    _subscribers.append(entry)
    return lambda: _subscribers.remove(entry) if entry in _subscribers else None


def _deliver(loop: asyncio.AbstractEventLoop, callback: Subscriber, event: Event) -> None:
    task = loop.create_task(callback(event))
    task.add_done_callback(
        lambda t: (
            log.error("event subscriber failed", exc_info=t.exception())
            if not t.cancelled() and t.exception()
            else None
        )
    )


def has_subscribers() -> bool:
    """Whether anything in this process listens (a standalone worker: nothing does)."""
    return bool(_subscribers)


def health() -> BusHealth:
    """The bus's state: in-process delivery cannot fail.

    The hook for a cross-process bus (Redis pub/sub, PostgreSQL NOTIFY): report
    whether its connection is up, and how long since it last delivered.
    """
    return BusHealth(ok=True, detail="in-process")


def publish(event: Event) -> None:
    """Hand `event` to every subscriber, from any thread."""
    for loop, callback in _subscribers.copy():  # a copy: subscribers may come and go
        if not loop.is_closed():
            loop.call_soon_threadsafe(_deliver, loop, callback, event)
