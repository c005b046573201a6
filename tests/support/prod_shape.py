"""The production shape, started the way `make run-prod` starts it, for the tests.

`ProdShape` runs `scripts/run-prod.sh` (PostgreSQL, Redis, nginx, N app
processes, M standalone workers, all from Debian packages) on free loopback
ports under a temporary data directory, and reads what runs where from the
script's state file. The faults the tests inject are the ones operators
meet: a process killed (the script starts it again, as systemd would), Redis
restarted, PostgreSQL stopped and started, SIGHUP for a rolling restart.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.servers import PROJECT_ROOT

_STATE_FILE = "run-prod.state"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(apps: int) -> int:
    """A base port with the ports run-prod derives from it free (base..base+apps, +100, +101)."""
    for _ in range(200):
        base = random.randrange(20_000, 40_000, 10)
        wanted = [*range(base, base + apps + 1), base + 100, base + 101]
        if all(_port_free(p) for p in wanted):
            return base
    msg = "no free block of loopback ports"
    raise RuntimeError(msg)


@dataclass
class ProdShape:
    """`scripts/run-prod.sh` under `data_dir`, stopped with SIGTERM."""

    data_dir: Path
    apps: int = 2
    workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)

    def start(self, timeout: float = 900) -> ProdShape:
        """Start the shape and wait until it is ready through nginx."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o755)  # PostgreSQL runs as `postgres` and must reach its folder
        self.port = free_port_block(self.apps)
        env = {
            **os.environ,
            "IMGAPP_DATA_DIR": str(self.data_dir),
            "RUN_PROD_PORT": str(self.port),
            "RUN_PROD_APPS": str(self.apps),
            "RUN_PROD_WORKERS": str(self.workers),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        env.pop("DATABASE_URL", None)
        self.log_path = self.data_dir / "run-prod.log"
        self._log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            [str(PROJECT_ROOT / "scripts" / "run-prod.sh")],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self._serving():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                msg = f"run-prod did not become ready:\n{self.log_tail()}"
                raise RuntimeError(msg)
            time.sleep(1)
        return self

    def _serving(self) -> bool:
        return "serving on" in self.log_path.read_text(errors="replace") and self.ready()

    @property
    def url(self) -> str:
        """nginx: what SITE_URL is."""
        return f"http://127.0.0.1:{self.port}"

    def state(self) -> dict[str, str]:
        """What runs where now (the script rewrites the file on every restart)."""
        text = (self.data_dir / "prod" / _STATE_FILE).read_text()
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    @property
    def database_url(self) -> str:
        """The shape's PostgreSQL database."""
        return self.state()["DATABASE_URL"]

    def app_urls(self) -> list[str]:
        """Each app process, directly (not through nginx)."""
        return [f"http://127.0.0.1:{p}" for p in self.state()["APP_PORTS"].split()]

    def pids(self, key: str) -> list[int]:
        """`APP_PIDS`, `WORKER_PIDS`, `REDIS_PID` or `NGINX_PID` as numbers."""
        return [int(p) for p in self.state()[key].split()]

    def ready(self, base: str | None = None) -> bool:
        """Whether `/api/health/ready` answers 200 (through nginx unless `base`)."""
        try:
            return httpx.get((base or self.url) + "/api/health/ready", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 120) -> None:
        """Until every app process and nginx answer ready."""
        deadline = time.monotonic() + timeout
        while not (self.ready() and all(self.ready(u) for u in self.app_urls())):
            if time.monotonic() > deadline:
                msg = f"the shape is not ready after {timeout}s:\n{self.log_tail()}"
                raise TimeoutError(msg)
            time.sleep(0.5)

    def wait_restarted(self, key: str, old: list[int], timeout: float = 180) -> None:
        """Until the script has replaced the process(es) in `old` under `key`."""
        deadline = time.monotonic() + timeout
        while set(self.pids(key)) & set(old):
            if time.monotonic() > deadline:
                msg = f"{key} {old} were not replaced:\n{self.log_tail()}"
                raise TimeoutError(msg)
            time.sleep(0.3)

    def kill(self, pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal one process's whole group (an app process is reflex and its server)."""
        os.killpg(pid, sig)

    def postgres(self, action: str) -> None:
        """`pg_ctl stop` (fast) or `start` on the shape's cluster, as its owner."""
        state = self.state()
        pg_ctl = [f"{state['PG_BIN']}/pg_ctl", "-D", state["PG_DATA"], "-w", "-t", "60"]
        if action == "stop":
            command = [*pg_ctl, "-m", "fast", "stop"]
        else:
            command = [*pg_ctl, "-l", state["PG_LOG"], "-o", state["PG_OPTS"], "start"]
        as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*as_owner, *command], check=True, capture_output=True, start_new_session=True
        )

    def rolling_restart(self) -> None:
        """SIGHUP to the script: app processes one at a time, then the workers."""
        os.kill(self._proc.pid, signal.SIGHUP)

    def log_tail(self, chars: int = 6000) -> str:
        """The end of the script's output (what it started, restarted, refused)."""
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """SIGTERM to the script, which stops everything in order."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=150)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._log.close()
