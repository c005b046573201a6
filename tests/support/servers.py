"""Servers the tests talk to over real HTTP on loopback.

`ApiServer` serves imgapp's FastAPI app with uvicorn in a thread of the test
process, so each test's database (swapped in with `db.use_engine`) is the one
it serves. `AppProcess` runs the whole product (`reflex run --env prod`) as
the run command does, for the browser tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from tests.support.net import free_port, wait_http

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ApiServer:
    """uvicorn on 127.0.0.1:<free port> in a daemon thread."""

    app: object
    port: int = field(default_factory=free_port)
    health_path: str = "/api/health"

    def __post_init__(self) -> None:
        """Prepare (not start) the server."""
        config = uvicorn.Config(
            self.app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        """Start and wait until it serves."""
        self._thread.start()
        wait_http(self.url + self.health_path, timeout=30)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)


@dataclass
class AppProcess:
    """The product as `make run` serves it, on its own port and database."""

    database_url: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def url(self) -> str:
        """Base URL (what SITE_URL is set to)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 420) -> AppProcess:
        """Build and serve; wait for `/api/health` and the UI."""
        env = {
            **os.environ,
            "IMGAPP_ENV": "development",
            "IMGAPP_PORT": str(self.port),
            "SITE_URL": self.url,
            "DATABASE_URL": self.database_url,
            "IMGAPP_DATA_DIR": str(self.data_dir),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        self.log_path = self.log_path or (self.data_dir / "app.log")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reflex",
                "run",
                "--env",
                "prod",
                "--backend-port",
                str(self.port),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_http(self.url + "/api/health", timeout=timeout, alive=self.alive)
            wait_http(self.url + "/login", timeout=60, alive=self.alive)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-4000:]
            msg = f"{exc}\n--- app log ---\n{tail}"
            raise RuntimeError(msg) from exc
        return self

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._proc.poll() is None

    @property
    def pid(self) -> int:
        """The `reflex run` process (the server and its helpers are its descendants)."""
        return self._proc.pid

    def stop(self) -> None:
        """Stop the whole process group (reflex and its workers)."""
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while self._proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            if self._proc.poll() is None:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._log.close()
