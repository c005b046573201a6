"""Run a coroutine to completion from a test, whatever loop the main thread holds.

Playwright's sync API keeps an event loop on the main thread once a browser
test has run, so `asyncio.run` there would refuse; a worker thread has none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coroutine)` on a fresh thread; returns its result or raises its error."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
