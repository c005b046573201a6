"""A throwaway Redis server for tests: Debian's `redis-server` on a free loopback port.

No persistence, no config file; `stop()` and `start()` again on the same port
stand for a Redis restart.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.net import free_port

REDIS_SERVER = "/usr/bin/redis-server"


def available() -> bool:
    """Whether Debian's redis-server is installed (`scripts/test-deps.sh` installs it)."""
    return Path(REDIS_SERVER).exists()


@dataclass
class RedisServer:
    """One running server; `url` is what REDIS_URL would be."""

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="imgapp-redis-")))

    def __post_init__(self) -> None:
        """Not started yet."""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's address as a redis:// URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start and wait until it answers PING."""
        if not available():
            msg = "redis-server is missing: `make test` installs it (apt-get install redis-server)"
            raise RuntimeError(msg)
        self._log = (self.root / "redis.log").open("ab")
        self._proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--protected-mode",
                "no",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.root / "redis.log").read_text(errors="replace")[-2000:]
                msg = f"redis-server did not start on {self.port}:\n{tail}"
                raise RuntimeError(msg)
            time.sleep(0.05)
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (its clients' connections drop)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._log.close()
        self._proc = None

    def remove(self) -> None:
        """Stop and delete its files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
