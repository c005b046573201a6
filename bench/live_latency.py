"""Live-update latency: from a progress write in the database to the change on a connected page.

Serves the product as `make run` does (`reflex run --env prod`, SQLite, the
in-app processor, the offline renderer), signs up `--clients` people, opens
each one's `/console` in its own Chromium profile, and has every person submit
one 4-image 512x512 task; the in-app processor runs 10 at a time. Each image
is drawn in 5 passes and every pass is written as progress (the throttle is
set to 0 here), so 50 people make about 1,100 updates (with the claims and
completions). The offline renderer's drawing shares the server's CPU, so
bigger images or more at once measure the CPU more than the push path.
Every page records, for each change of a task card's `data-updated-ms` (the
`updated_at` the processor wrote), the time until the page showed it.
Printed: p50/p95/max over all updates, next to the same pages' round trip of
a plain `fetch('/api/health')` in the same run (the floor for anything that
goes through this server), and the server process's memory (RSS) idle, with
every page connected, and after the tasks, as MB per connected page.

    python bench/live_latency.py [--clients 50] [--images 4] [--seconds-per-image 1]
                                 [--size 512x512] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SESSION_SECRET", "bench-session-secret-0123456789")

import httpx  # noqa: E402
import psutil  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench import metrics_text  # noqa: E402
from bench.page_latency import OBSERVE  # noqa: E402
from imgapp.core import db, migrations  # noqa: E402
from imgapp.core.settings import DEV_INTERNAL_API_KEY  # noqa: E402
from imgapp.models import LedgerKind  # noqa: E402
from imgapp.models.base import require_id  # noqa: E402
from imgapp.services import accounts, ledger  # noqa: E402
from imgapp.services.sessions import COOKIE_NAME  # noqa: E402
from tests.support.browser import CHROMIUM_ARGS  # noqa: E402
from tests.support.servers import AppProcess  # noqa: E402

PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway account
DEADLINE_SECONDS = 600


HEALTH_ROUND_TRIPS = """
async () => {
  const out = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await fetch('/api/health', {cache: 'no-store'});
    out.push(performance.now() - t);
  }
  return out;
}
"""


# While the tasks run, each page also times a plain fetch every 5 s: the same
# floor measured under the same load (the browsers share these cores).
FETCH_UNDER_LOAD = """
() => {
  window.__rtt = [];
  window.__rttTimer = setInterval(async () => {
    const t = performance.now();
    await fetch('/api/health', {cache: 'no-store'});
    window.__rtt.push(performance.now() - t);
  }, 5000);
}
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _server_memory(app: AppProcess) -> tuple[float, float]:
    """MB resident: the process serving the app's port, and its render children."""
    for proc in psutil.Process(app.pid).children(recursive=True):
        try:
            listening = any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == app.port
                for c in proc.net_connections("tcp")
            )
        except psutil.Error:
            continue
        if listening:
            children = sum(child.memory_info().rss for child in proc.children(recursive=True))
            return proc.memory_info().rss / 2**20, children / 2**20
    msg = f"no process listens on port {app.port}"
    raise RuntimeError(msg)


def _metrics(app: AppProcess) -> str:
    response = httpx.get(
        app.url + "/api/metrics",
        headers={"Authorization": f"Bearer {DEV_INTERNAL_API_KEY}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.text


def _sign_up(app: AppProcess, email: str) -> str:
    """Register over HTTP; the session cookie's value."""
    with httpx.Client(base_url=app.url, timeout=30) as http:
        response = http.post(
            "/api/auth/register",
            json={"email": email, "password": PASSWORD},
            headers={"Origin": app.url},
        )
        response.raise_for_status()
        return http.cookies[COOKIE_NAME]


def main() -> None:  # noqa: PLR0915 - one linear scenario
    """Run the scenario and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--images", type=int, default=4, choices=range(1, 5))
    parser.add_argument("--seconds-per-image", type=float, default=1.0)
    parser.add_argument("--size", default="512x512", help="the renderer's CPU grows with it")
    parser.add_argument(
        "--render-processes",
        type=int,
        default=2,
        help="LOCAL_RENDER_PROCESSES: child processes drawing (0: in the server's threads)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=10, help="tasks the in-app processor runs at once"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="imgapp-live-bench-"))
    url = f"sqlite:///{work / 'imgapp.db'}"
    migrations.upgrade(url)
    app = AppProcess(
        database_url=url,
        data_dir=work / "data",
        extra_env={
            "TASK_CONCURRENCY": str(args.concurrency),
            "TASK_POLL_SECONDS": "0.2",
            "TASK_PROGRESS_INTERVAL_SECONDS": "0",
            "LOCAL_RENDER_SECONDS": str(args.seconds_per_image),
            "OPENAI_API_KEY": "",
            "SIGNUP_LIMIT_PER_IP_PER_HOUR": "0",  # every bench person signs up from 127.0.0.1
            "LOCAL_RENDER_PROCESSES": str(args.render_processes),
        },
    ).start()
    db.use_engine(db.make_engine(url))
    try:
        idle_mb, _ = _server_memory(app)
        cookies = []
        for i in range(args.clients):
            email = f"live{i}@example.com"
            cookies.append(_sign_up(app, email))
        with db.transaction() as session:
            for i in range(args.clients):
                user = accounts.user_by_email(session, email=f"live{i}@example.com")
                ledger.credit(
                    session,
                    user_id=require_id(user.id),
                    credits=1000,
                    kind=LedgerKind.ADJUSTMENT,
                    key=f"live-bench:{i}",
                )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            pages = []
            for cookie in cookies:
                context = browser.new_context()
                context.add_cookies(
                    [{"name": COOKIE_NAME, "value": cookie, "url": app.url, "httpOnly": True}]
                )
                page = context.new_page()
                page.goto(app.url + "/console")
                page.wait_for_selector("#task-list-empty", timeout=60_000)
                page.evaluate(OBSERVE)
                pages.append(page)
            print(f"{len(pages)} pages connected to /console")
            connected_mb, _ = _server_memory(app)
            floor = [ms for page in pages for ms in page.evaluate(HEALTH_ROUND_TRIPS)]

            metrics_before = _metrics(app)
            for page in pages:
                page.evaluate(FETCH_UNDER_LOAD)
            started = time.time()
            for page in pages:  # each person submits from their own page (their cookie)
                page.evaluate(
                    """async ([n, size]) => {
                      const r = await fetch('/api/generate-image', {method: 'POST',
                        headers: {'Content-Type': 'application/json'},
                        body: JSON.stringify({prompt: 'a lighthouse at dusk', n, size})});
                      if (r.status !== 202) throw new Error('submit: ' + r.status);
                    }""",
                    [args.images, args.size],
                )
            with db.read() as session:
                total = args.clients
                while time.time() - started < DEADLINE_SECONDS:
                    done = session.execute(
                        text(
                            "SELECT count(*) FROM ai_images_creator_tasks"
                            " WHERE status IN ('completed', 'failed', 'cancelled')"
                        )
                    ).scalar_one()
                    session.rollback()
                    if done >= total:
                        break
                    time.sleep(0.2)
            time.sleep(1.0)  # the last pushes
            after_mb, render_mb = _server_memory(app)
            server_side = metrics_text.push_latency(metrics_before, _metrics(app))
            latencies = [ms for page in pages for ms in page.evaluate("window.__lat")]
            loaded_floor = [
                ms
                for page in pages
                for ms in page.evaluate("clearInterval(window.__rttTimer) || window.__rtt")
            ]
            browser.close()
        if not latencies:
            raise SystemExit("no updates arrived")
        p50, p95 = _percentile(latencies, 0.5), _percentile(latencies, 0.95)
        floor_p50 = statistics.median(floor)
        print(
            f"{len(latencies)} updates to {args.clients} pages in {time.time() - started:.1f} s:"
            f" write -> page p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(latencies):.0f} ms"
        )
        print(
            f"baseline, same pages: fetch('/api/health') round trip p50 {floor_p50:.1f} ms"
            f" (p50 update latency = {p50 / floor_p50:.1f}x that)"
        )
        print(
            f"same fetch every 5 s while the tasks ran ({len(loaded_floor)}):"
            f" p50 {_percentile(loaded_floor, 0.5):.0f} ms,"
            f" p95 {_percentile(loaded_floor, 0.95):.0f} ms"
        )
        print(
            f"server side (event published -> push applied, {server_side['pushes']} pushes):"
            f" p50 {server_side['p50_ms']} ms, p95 {server_side['p95_ms']} ms"
        )
        per_page = (connected_mb - idle_mb) / args.clients
        print(
            f"server RSS: idle {idle_mb:.0f} MB, {args.clients} pages connected"
            f" {connected_mb:.0f} MB ({per_page:.2f} MB per page), after the tasks"
            f" {after_mb:.0f} MB (+ render processes {render_mb:.0f} MB)"
        )
    finally:
        app.stop()


if __name__ == "__main__":
    main()
