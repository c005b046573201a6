"""Hear what flows publish (`core.events`) from a test: a loop in a thread subscribes."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from imgapp.core import events


@contextmanager
def listening() -> Iterator[list[events.Event]]:
    """Every event published while the block runs, in order."""
    heard: list[events.Event] = []
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def listen(event: events.Event) -> None:
        heard.append(event)

    async def subscribe() -> Callable[[], None]:
        return events.subscribe(listen)

    stop = asyncio.run_coroutine_threadsafe(subscribe(), loop).result(timeout=5)
    try:
        yield heard
    finally:
        stop()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def wait_for(heard: list[events.Event], predicate: Callable[[events.Event], bool]) -> events.Event:
    """The first event that matches, waiting up to 5 s for delivery."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for event in list(heard):
            if predicate(event):
                return event
        time.sleep(0.01)
    msg = f"no matching event among {heard!r}"
    raise AssertionError(msg)
