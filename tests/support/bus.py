"""Hear the cross-process event bus from a test: `events.listen` on a loop in a thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from imgapp.core import events


@dataclass
class Heard:
    """What a listener heard, in order, and how often it (re)connected."""

    events: list[events.Event] = field(default_factory=list)
    connects: int = 0

    def wait(self, check: Callable[[], bool], what: str, seconds: float = 10) -> None:
        """Wait until `check()` holds (or fail naming `what`)."""
        deadline = time.monotonic() + seconds
        while not check():
            if time.monotonic() > deadline:
                msg = f"timed out waiting for {what}; heard {self.events!r}"
                raise AssertionError(msg)
            time.sleep(0.01)

    def wait_connects(self, count: int, seconds: float = 15) -> None:
        """Wait until the listener has connected `count` times."""
        self.wait(lambda: self.connects >= count, f"connection #{count}", seconds)

    def of(self, topic: str) -> list[events.Event]:
        """The events of one topic, in order."""
        return [e for e in self.events if e.topic == topic]


@contextmanager
def bus_listener(bus: events.Bus) -> Iterator[Heard]:
    """A listener on `bus` (as the live bridge runs one), connected before the block starts."""
    heard = Heard()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def collect(event: events.Event) -> None:
        heard.events.append(event)

    async def connected() -> None:
        heard.connects += 1

    async def start() -> tuple[Callable[[], None], asyncio.Task[None]]:
        return events.subscribe(collect), asyncio.create_task(events.listen(connected, bus=bus))

    unsubscribe, listener = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=5)
    try:
        heard.wait_connects(1)
        yield heard
    finally:
        unsubscribe()
        loop.call_soon_threadsafe(listener.cancel)
        time.sleep(0.05)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
