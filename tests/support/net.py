"""Loopback networking helpers for tests."""

from __future__ import annotations

import socket
import time

import httpx


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float, *, alive: object = None) -> None:
    """Poll `url` until it answers 200; `alive()` returning False aborts early."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if callable(alive) and not alive():
            msg = f"server for {url} exited before it was ready"
            raise RuntimeError(msg)
        try:
            if httpx.get(url, timeout=2, follow_redirects=True).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.25)
    msg = f"{url} not ready after {timeout}s ({last})"
    raise TimeoutError(msg)
