"""Start-up: seconds from `make run` to the first page served, warm and from a fresh clone.

Warm: `make run` in this checkout (packages installed, the UI built before) on
a new, empty data directory. Fresh clone: `git clone` of this checkout's HEAD
into a temporary directory, then `make run` there; the machine's package
caches (pip, bun) are warm, the clone has no `.venv`, no build and no data.
Each measures until `/login` answers 200 (the sign-in page, served from the
production build), then reads the server's RSS and stops it. The baseline
printed beside them is this Python's own start (`python -c pass`) in the same
run.

    python bench/startup.py [--rounds 3] [--no-fresh-clone]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

from tests.support.net import free_port  # noqa: E402

DEADLINE_SECONDS = 600


def _first_page(checkout: Path, data_dir: Path) -> tuple[float, float]:
    """`make run` in `checkout`: seconds until /login answers 200, and the server's RSS (MB)."""
    port = free_port()
    env = {
        **os.environ,
        "IMGAPP_DATA_DIR": str(data_dir),
        "IMGAPP_PORT": str(port),
        "SITE_URL": f"http://127.0.0.1:{port}",
    }
    for name in ("VIRTUAL_ENV", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(ROOT))
    )
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = (data_dir.parent / f"run-{port}.log").open("wb")
    url = f"http://127.0.0.1:{port}/login"
    started = time.monotonic()
    proc = subprocess.Popen(
        ["make", "run"],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        while time.monotonic() - started < DEADLINE_SECONDS:
            if proc.poll() is not None:
                msg = f"make run ended ({proc.returncode}); see {log.name}"
                raise RuntimeError(msg)
            try:
                if httpx.get(url, timeout=2, follow_redirects=True).status_code == 200:  # noqa: PLR2004
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            msg = f"no page after {DEADLINE_SECONDS} s; see {log.name}"
            raise RuntimeError(msg)
        elapsed = time.monotonic() - started
        rss = _server_rss(proc.pid, port)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    return elapsed, rss


def _server_rss(root_pid: int, port: int) -> float:
    for proc in psutil.Process(root_pid).children(recursive=True):
        try:
            if any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == port
                for c in proc.net_connections("tcp")
            ):
                return proc.memory_info().rss / 2**20
        except psutil.Error:
            continue
    return float("nan")


def _python_start() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.monotonic() - started


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-fresh-clone", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="imgapp-startup-bench-"))
    warm, warm_rss = [], []
    for i in range(args.rounds):
        seconds, rss = _first_page(ROOT, work / f"warm-{i}" / "data")
        warm.append(seconds)
        warm_rss.append(rss)
    baseline = statistics.median(_python_start() for _ in range(5))
    print(
        f"warm `make run`, empty data dir -> first page: median {statistics.median(warm):.1f} s"
        f" (rounds {', '.join(f'{s:.1f}' for s in warm)}); server RSS idle"
        f" {statistics.median(warm_rss):.0f} MB; baseline `python -c pass` {baseline * 1000:.0f} ms"
    )
    if not args.no_fresh_clone:
        clone = work / "clone"
        subprocess.run(
            ["git", "clone", "--quiet", str(ROOT), str(clone)],
            check=True,
        )
        seconds, rss = _first_page(clone, clone / "data")
        print(
            f"fresh clone (warm package caches), `make run` -> first page: {seconds:.1f} s;"
            f" server RSS idle {rss:.0f} MB"
        )


if __name__ == "__main__":
    main()
