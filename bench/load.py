"""Load figures for the production shape: signed-in people generating while recharges pour in.

Owns one scenario, run against 1 and then against 2 app processes (`--apps`):
`scripts/run-prod.sh` (nginx, PostgreSQL, Redis, the app processes, `--workers`
standalone workers, events over Redis) started as a child in its own process
group with a temporary `IMGAPP_DATA_DIR` and free ports, waited for until
`/api/health/ready` answers through nginx, and stopped with SIGTERM to that
group (SIGKILL after 60 s). Each round, before the clock starts:
  * `--users` people sign up through the API (`POST /api/auth/register`,
    through nginx) and get 1,000 credits each as an operator adjustment through
    the ledger service (the invariant holds from the start);
  * `--pages` of them open `/console` in Debian's Chromium, through nginx, so
    their sockets spread over the app processes.
Then Locust, headless, in a child process of this script (gevent patches what
that process imports: imgapp's database code, SQLAlchemy and Playwright stay
here). Every person loops: submit a 512x512 one-image task, follow it with a
`GET` of it every second until it ends, think 0.5 to 1.5 times
`--think-seconds`; one loop in nine lists the latest tasks and reads the
billing summary instead. Next to them, `--recharges-per-second` at a constant
rate: a signed-in person opens an order (`POST /api/payments/create`, which
asks the sandbox gateway through nginx), then XorPay's notification for it is
posted to the webhook, signed with the sandbox merchant's secret as XorPay
signs (as the gateway would; the sandbox's checkout page is left out).
Recharges use the people without a page, so what the pages
hear are task events: the submit's (from the app process that took it) and
the claim, progress and completion (from a worker: always another process).
The workers run `--task-concurrency` tasks each; the offline renderer spends
`--render-seconds` per image, mostly waiting, as a network provider would.

After `--warmup-seconds` the timed phase lasts `--minutes`. Reported per round:
requests/s, p50/p95/p99 per request kind (plus the flows "submit -> done" and
"order -> credited"), errors (Locust failures over the whole run, and 5xx
answers in nginx's log; both must be 0), the push latency p95 of
`imgapp_push_latency_seconds` (an event's publication -> its push applied in
the app process holding the page; scraped through nginx before and after the
timed phase, summed over all processes via PROMETHEUS_MULTIPROC_DIR,
interpolated in the buckets; target < 200 ms), the pages' own p95 from the
`updated_at` a worker wrote to the DOM change, tasks completed, recharges
credited vs. sent, and the ledger invariant once the queue has drained. Ends
with a table comparing the rounds, and writes everything as JSON (`--json`).

    python bench/load.py [--users 200] [--recharges-per-second 20] [--minutes 5]
                         [--apps 1,2] [--workers 2] [--pages 10] [--json PATH]
    python bench/load.py --quick   # smoke run: 20 users, 2 recharges/s, 30 s, 1 and 2 apps
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import metrics_text  # noqa: E402 - plain text parsing, safe before gevent patches
from bench.page_latency import OBSERVE  # noqa: E402 - plain JS, safe before gevent patches

PASSWORD = "bench-password-123"  # noqa: S105 - throwaway accounts
SESSION_SECRET = "load-bench-session-secret-0123456789"  # noqa: S105 - a throwaway shape
INTERNAL_API_KEY = "load-bench-internal-key-0123456789"
START_CREDITS = 1000
TASK = {"prompt": "a lighthouse at dusk", "size": "512x512", "n": 1}  # 4 credits
RECHARGE = {"amount": "1.00", "pay_type": "alipay"}  # 10 credits
PAYER_RATE = 0.5  # recharges/s one Locust payer makes: 20/s is 40 payers
POLL_SECONDS = 1.0
TASK_DEADLINE_SECONDS = 300.0
STOP_TIMEOUT_SECONDS = 120.0  # Locust lets running loops finish (a followed task ends)
READY_TIMEOUT_SECONDS = 900.0  # the first frontend build installs its packages
STOP_KILL_AFTER_SECONDS = 60.0
DRAIN_TIMEOUT_SECONDS = 300.0
PHASE_STARTED = "load: timed phase started"
PHASE_ENDED = "load: timed phase ended"
ENDED_STATUSES = ("completed", "failed", "cancelled")


# --------------------------------------------------------------------- the shape


@dataclass
class Shape:
    """One `scripts/run-prod.sh` run: its ports, its data directory, its process."""

    apps: int
    workers: int
    data_dir: Path
    port: int  # nginx; the app processes take the next `apps` ports
    pg_port: int
    redis_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def site_url(self) -> str:
        """What people open: nginx."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        """The shape's PostgreSQL database."""
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/imgapp"

    @property
    def log_dir(self) -> Path:
        """Where run-prod writes every process's log (nginx's access log among them)."""
        return self.data_dir / "prod" / "log"

    @property
    def output(self) -> Path:
        """run-prod's own output."""
        return self.data_dir / "run-prod.log"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int, taken: set[int]) -> int:
    """The first of `count` consecutive free loopback ports, none of them in `taken`."""
    for _ in range(1000):
        base = random.randrange(20000, 60000)
        block = range(base, base + count)
        if not taken.intersection(block) and all(_port_free(p) for p in block):
            taken.update(block)
            return base
    raise SystemExit("no free block of ports found")


def _new_shape(apps: int, workers: int) -> Shape:
    data_dir = Path(tempfile.mkdtemp(prefix=f"imgapp-load-{apps}app-"))
    data_dir.chmod(0o755)  # run-prod runs PostgreSQL as `postgres` when we are root
    taken: set[int] = set()
    return Shape(
        apps=apps,
        workers=workers,
        data_dir=data_dir,
        port=_free_ports(apps + 1, taken),
        pg_port=_free_ports(1, taken),
        redis_port=_free_ports(1, taken),
    )


def _shape_env(shape: Shape, args: argparse.Namespace) -> dict[str, str]:
    return {
        **os.environ,
        "IMGAPP_DATA_DIR": str(shape.data_dir),
        "RUN_PROD_PORT": str(shape.port),
        "RUN_PROD_APPS": str(shape.apps),
        "RUN_PROD_WORKERS": str(shape.workers),
        "RUN_PROD_PG_PORT": str(shape.pg_port),
        "RUN_PROD_REDIS_PORT": str(shape.redis_port),
        "SESSION_SECRET": SESSION_SECRET,
        "INTERNAL_API_KEY": INTERNAL_API_KEY,
        "SIGNUP_LIMIT_PER_IP_PER_HOUR": "0",  # every bench person signs up from 127.0.0.1
        "IMAGE_PROVIDER": "local",
        "OPENAI_API_KEY": "",
        "LOCAL_RENDER_SECONDS": str(args.render_seconds),
        "TASK_CONCURRENCY": str(args.task_concurrency),
    }


def _start(shape: Shape, args: argparse.Namespace) -> None:
    """Start run-prod in its own process group and wait until it serves through nginx."""
    print(
        f"starting run-prod: {shape.apps} app process(es), {shape.workers} workers,"
        f" nginx on {shape.port} (output: {shape.output})",
        flush=True,
    )
    with shape.output.open("wb") as output:
        shape.process = subprocess.Popen(
            [str(ROOT / "scripts" / "run-prod.sh")],
            cwd=ROOT,
            env=_shape_env(shape, args),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _wait_ready(shape)


def _ready(url: str) -> bool:
    import httpx  # noqa: PLC0415 - not in the Locust process (see the module docstring)

    try:
        return httpx.get(url + "/api/health/ready", timeout=5).status_code == 200  # noqa: PLR2004
    except httpx.HTTPError:
        return False


def _wait_ready(shape: Shape) -> None:
    assert shape.process is not None  # noqa: S101 - started just before
    started = time.monotonic()
    while time.monotonic() - started < READY_TIMEOUT_SECONDS:
        if shape.process.poll() is not None:
            tail = shape.output.read_text(errors="replace")[-3000:]
            raise SystemExit(f"run-prod ended with {shape.process.returncode}:\n{tail}")
        if "serving on" in shape.output.read_text(errors="replace") and _ready(shape.site_url):
            print(f"ready after {time.monotonic() - started:.0f} s: {shape.site_url}", flush=True)
            return
        time.sleep(1.0)
    raise SystemExit(f"run-prod was not ready within {READY_TIMEOUT_SECONDS:.0f} s")


def _stop(shape: Shape) -> None:
    """SIGTERM to run-prod's process group (it stops what it started), SIGKILL after 60 s."""
    if shape.process is None or shape.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(shape.process.pid, signal.SIGTERM)
    try:
        shape.process.wait(timeout=STOP_KILL_AFTER_SECONDS)
    except subprocess.TimeoutExpired:
        print("run-prod did not stop within 60 s: SIGKILL", flush=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shape.process.pid, signal.SIGKILL)
        shape.process.wait()


# --------------------------------------------------------------------- people


def _email(index: int) -> str:
    return f"load{index}@example.com"


def _sign_up(site_url: str, index: int) -> str:
    """Register one person through nginx; the session cookie's value."""
    import httpx  # noqa: PLC0415 - not in the Locust process

    from imgapp.services.sessions import COOKIE_NAME  # noqa: PLC0415

    with httpx.Client(base_url=site_url, timeout=60) as http:
        response = http.post(
            "/api/auth/register",
            json={"email": _email(index), "password": PASSWORD},
            headers={"Origin": site_url},
        )
        response.raise_for_status()
        return http.cookies[COOKIE_NAME]


def _sign_up_all(site_url: str, count: int) -> list[str]:
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        cookies = list(pool.map(lambda i: _sign_up(site_url, i), range(count)))
    print(f"{count} people signed up in {time.monotonic() - started:.0f} s", flush=True)
    return cookies


def _fund(count: int) -> None:
    """START_CREDITS each, as operator adjustments through the ledger service (one transaction)."""
    from imgapp.core import db  # noqa: PLC0415 - not in the Locust process
    from imgapp.models.base import require_id  # noqa: PLC0415
    from imgapp.services import accounts, ledger  # noqa: PLC0415

    with db.transaction() as session:
        for index in range(count):
            user = accounts.user_by_email(session, email=_email(index))
            ledger.adjust(
                session,
                user_id=require_id(user.id),
                credits=START_CREDITS,
                key=f"load-bench:{user.id}",
                description="load bench",
            )


# --------------------------------------------------------------------- pages


@dataclass
class Pages:
    """Chromium with one `/console` per observed person (Playwright objects)."""

    playwright: Any
    browser: Any
    pages: list[Any] = field(default_factory=list)

    def close(self) -> None:
        """Close every page's socket, then the browser."""
        self.browser.close()
        self.playwright.stop()


def _open_pages(site_url: str, cookies: list[str]) -> Pages:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - not in the Locust process

    from imgapp.services.sessions import COOKIE_NAME  # noqa: PLC0415
    from tests.support.browser import CHROMIUM_ARGS  # noqa: PLC0415

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    opened = Pages(playwright, browser)
    for cookie in cookies:
        context = browser.new_context()
        context.add_cookies(
            [{"name": COOKIE_NAME, "value": cookie, "url": site_url, "httpOnly": True}]
        )
        page = context.new_page()
        page.goto(site_url + "/console")
        page.wait_for_selector("#task-list-empty", timeout=120_000)
        page.evaluate(OBSERVE)
        opened.pages.append(page)
    print(f"{len(opened.pages)} pages on /console", flush=True)
    return opened


def _reset_latencies(pages: Pages) -> None:
    for page in pages.pages:
        page.evaluate("() => { window.__lat = []; }")


def _latencies(pages: Pages) -> list[float]:
    return [float(ms) for page in pages.pages for ms in page.evaluate("window.__lat")]


# --------------------------------------------------------------------- metrics


def _scrape(site_url: str) -> str:
    import httpx  # noqa: PLC0415 - not in the Locust process

    response = httpx.get(
        site_url + "/api/metrics",
        headers={"Authorization": f"Bearer {INTERNAL_API_KEY}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.text


def _app_5xx(exposition: str) -> int:
    return int(
        sum(
            value
            for labels, value in metrics_text.samples(exposition, "imgapp_http_requests_total")
            if labels.get("status", "").startswith("5")
        )
    )


# --------------------------------------------------------------------- nginx's log

_ACCESS = re.compile(
    r'"(?P<method>\S+) (?P<path>\S+)[^"]*" (?P<status>\d{3}) \d+ upstream=(?P<upstream>\S+)'
)


def _access_log(shape: Shape) -> Path:
    return shape.log_dir / "nginx-access.log"


def _nginx_figures(shape: Shape, offset: int) -> dict[str, Any]:
    """5xx answers since `offset` in nginx's log, where API requests and page sockets went."""
    with _access_log(shape).open("rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    errors: list[str] = []
    api: Counter[str] = Counter()
    sockets: Counter[str] = Counter()
    for line in lines:
        match = _ACCESS.search(line)
        if not match:
            continue
        if match["status"].startswith("5"):
            errors.append(line)
        if match["path"].startswith("/_event"):
            sockets[match["upstream"]] += 1
        elif match["path"].startswith("/api/"):
            api[match["upstream"]] += 1
    return {
        "5xx": len(errors),
        "5xx_lines": errors[:20],
        "api_requests_by_upstream": dict(api),
        "page_sockets_by_upstream": dict(sockets),
    }


# --------------------------------------------------------------------- the database


def _drain() -> int:
    """Wait for the queue to empty; tasks still queued or running when it did not."""
    from sqlalchemy import func, select  # noqa: PLC0415 - not in the Locust process
    from sqlmodel import col  # noqa: PLC0415

    from imgapp.core import db  # noqa: PLC0415
    from imgapp.models import Task  # noqa: PLC0415
    from imgapp.models.tasks import ACTIVE  # noqa: PLC0415

    started = time.monotonic()
    while True:
        with db.read() as session:
            active = session.execute(
                select(func.count()).select_from(Task).where(col(Task.status).in_(ACTIVE))
            ).scalar_one()
        if not active or time.monotonic() - started > DRAIN_TIMEOUT_SECONDS:
            return int(active)
        time.sleep(1.0)


def _ledger_checks(database_url: str) -> dict[str, Any]:
    """The books (`tests/support/books.py`) and how many tasks and orders ended how."""
    from sqlalchemy import text  # noqa: PLC0415 - not in the Locust process

    from imgapp.core import db  # noqa: PLC0415
    from tests.support import books  # noqa: PLC0415

    with db.read() as session:
        tasks = dict(
            session.execute(
                text("SELECT status, count(*) FROM ai_images_creator_tasks GROUP BY status")
            ).all()
        )
        orders = dict(
            session.execute(
                text("SELECT status, count(*) FROM payment_transactions GROUP BY status")
            ).all()
        )
    problems = books.problems(database_url)
    return {
        "problems": problems,
        "tasks": {k: int(v) for k, v in tasks.items()},
        "orders": {k: int(v) for k, v in orders.items()},
        "ok": not problems,
    }


# --------------------------------------------------------------------- Locust, as a child


def _locust_config(shape: Shape, args: argparse.Namespace, cookies: list[str]) -> dict[str, Any]:
    from imgapp.core.settings import Settings  # noqa: PLC0415 - not in the Locust process
    from imgapp.gateways import payment  # noqa: PLC0415
    from imgapp.services.sessions import COOKIE_NAME  # noqa: PLC0415

    return {
        "site_url": shape.site_url,
        "cookie_name": COOKIE_NAME,
        "cookies": cookies,
        "pages": args.pages,
        "recharges_per_second": args.recharges_per_second,
        "think_seconds": args.think_seconds,
        "warmup_seconds": args.warmup_seconds,
        "run_seconds": args.minutes * 60,
        "webhook_path": payment.WEBHOOK_PATH,
        "sandbox_secret": payment.sandbox_secret(Settings(session_secret=SESSION_SECRET)),
        "result": str(shape.data_dir / "locust.json"),
    }


@dataclass
class Phase:
    """What this process measured around the child's timed phase."""

    metrics_before: str = ""
    metrics_after: str = ""
    page_latencies: list[float] = field(default_factory=list)


def _run_load(shape: Shape, config: dict[str, Any], pages: Pages | None) -> Phase:
    """Run the Locust child; scrape and read the pages as its timed phase starts and ends."""
    config_path = shape.data_dir / "locust-config.json"
    config_path.write_text(json.dumps(config))
    phase = Phase()
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--locust-child", str(config_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None  # noqa: S101 - piped just above
    for line in child.stdout:
        print(f"  {line.rstrip()}", flush=True)
        if line.startswith(PHASE_STARTED):
            if pages:
                _reset_latencies(pages)
            phase.metrics_before = _scrape(shape.site_url)
        elif line.startswith(PHASE_ENDED):
            phase.metrics_after = _scrape(shape.site_url)
            if pages:
                phase.page_latencies = _latencies(pages)
    if child.wait() != 0:
        raise SystemExit(f"the Locust process ended with {child.returncode}")
    return phase


def _notification(order: dict[str, Any], secret: str) -> dict[str, str]:
    """What XorPay posts when `order` is paid, fields as the sandbox's `pay` builds them."""
    from imgapp.gateways.xorpay import notify_sign  # noqa: PLC0415 - hashlib only, no database

    aoid = order["qr"].rstrip("/").rsplit("/", 1)[-1]  # the QR code opens .../checkout/<aoid>
    signed = {
        "aoid": aoid,
        "order_id": order["order_id"],
        "pay_price": order["amount"],
        "pay_time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    detail = {"transaction_id": f"load-{aoid}", "bank_type": "SANDBOX", "buyer": "load"}
    return {
        **signed,
        "more": "",
        "detail": json.dumps(detail),
        "sign": notify_sign(**signed, secret=secret),
    }


def _flow(user: Any, name: str, started: float, failure: str | None = None) -> None:
    """Record an end-to-end flow (several requests) as one Locust entry of kind `flow`."""
    user.environment.events.request.fire(
        request_type="flow",
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=0,
        exception=None if failure is None else RuntimeError(failure),
        context={},
    )


def _person_class(config: dict[str, Any], counters: Counter[str]) -> type:
    """Locust's signed-in person: submit a task, follow it to its end, think; now and then look."""
    import gevent  # noqa: PLC0415 - the Locust process only
    from locust import FastHttpUser, between, task  # noqa: PLC0415

    cookies, think = config["cookies"], config["think_seconds"]
    people = iter(range(len(cookies)))  # the first `pages` people are the ones with a page

    class Person(FastHttpUser):
        host = config["site_url"]
        fixed_count = len(cookies)
        wait_time = between(0.5 * think, 1.5 * think)

        def on_start(self) -> None:
            self.headers = _session_headers(config, next(people))
            gevent.sleep(random.uniform(0, think))  # arrivals spread over one think time

        @task(8)
        def generate(self) -> None:
            started = time.perf_counter()
            with self.client.post(
                "/api/generate-image",
                json=TASK,
                headers=self.headers,
                name="POST /api/generate-image",
                catch_response=True,
            ) as answer:
                if answer.status_code != 202:  # noqa: PLR2004
                    answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]}")
                    return
                task_id = answer.json()["task_id"]
            counters["tasks_submitted"] += 1
            status = self.follow(task_id, started)
            if status is not None:
                counters[f"tasks_{status}"] += 1
                failure = None if status == "completed" else f"task {status}"
                _flow(self, "task: submit -> done", started, failure)

        def follow(self, task_id: int, started: float) -> str | None:
            """Poll the task until it ends: its final status (None: an error, or too long)."""
            while time.perf_counter() - started < TASK_DEADLINE_SECONDS:
                gevent.sleep(POLL_SECONDS)
                with self.client.get(
                    f"/api/generate-image/{task_id}",
                    headers=self.headers,
                    name="GET /api/generate-image/{id}",
                    catch_response=True,
                ) as answer:
                    if answer.status_code != 200:  # noqa: PLR2004
                        answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]}")
                        return None
                    status = answer.json()["status"]
                if status in ENDED_STATUSES:
                    return status
            _flow(self, "task: submit -> done", started, "not done in time")
            return None

        @task(1)
        def look_around(self) -> None:
            self.client.get(
                "/api/generate-image?limit=10", headers=self.headers, name="GET /api/generate-image"
            )
            self.client.get(
                "/api/billing/summary", headers=self.headers, name="GET /api/billing/summary"
            )

    return Person


def _payer_class(config: dict[str, Any], counters: Counter[str], payers: int) -> type:
    """Locust's payer: open an order as a signed-in person, then post XorPay's notification."""
    from locust import FastHttpUser, constant_throughput, task  # noqa: PLC0415 - Locust only

    people, pages = len(config["cookies"]), config["pages"]
    numbers = iter(range(payers))

    class Payer(FastHttpUser):
        host = config["site_url"]
        fixed_count = payers
        wait_time = constant_throughput(config["recharges_per_second"] / payers)

        def on_start(self) -> None:
            self.turn = next(numbers)

        @task
        def recharge(self) -> None:
            started = time.perf_counter()
            # People with a page never pay: their pages hear the workers' events only.
            person = (pages + self.turn % max(1, people - pages)) % people
            self.turn += payers
            with self.client.post(
                "/api/payments/create",
                json=RECHARGE,
                headers=_session_headers(config, person),
                name="POST /api/payments/create",
                catch_response=True,
            ) as answer:
                if answer.status_code != 201:  # noqa: PLR2004
                    answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]}")
                    return
                order = answer.json()
            counters["orders_created"] += 1
            with self.client.post(
                config["webhook_path"],
                data=_notification(order, config["sandbox_secret"]),
                name="POST /api/payments/webhook",
                catch_response=True,
            ) as answer:
                if answer.status_code != 200 or answer.text != "success":  # noqa: PLR2004
                    answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]}")
                    return
            counters["recharges_notified"] += 1
            _flow(self, "recharge: order -> credited", started)

    return Payer


def _session_headers(config: dict[str, Any], person: int) -> dict[str, str]:
    cookie = f"{config['cookie_name']}={config['cookies'][person]}"
    return {"Cookie": cookie, "Origin": config["site_url"]}


def _locust_child(config_path: Path) -> None:
    """The Locust process: spawn, warm up, the timed phase, a graceful stop; figures as JSON."""
    # gevent patches the standard library as locust is imported: this process
    # never loads imgapp's database code, SQLAlchemy or Playwright.
    import gevent  # noqa: PLC0415
    from locust.env import Environment  # noqa: PLC0415

    config = json.loads(config_path.read_text())
    payers = max(1, math.ceil(config["recharges_per_second"] / PAYER_RATE))
    counters: Counter[str] = Counter()
    failures: Counter[str] = Counter()

    def count_failure(request_type: str, name: str, exception: object, **_: object) -> None:
        if exception is not None:  # every failure of the whole run, warm-up and stop included
            failures[f"{request_type} {name}: {str(exception)[:160]}"] += 1

    people = _person_class(config, counters)
    env = Environment(
        user_classes=[people, _payer_class(config, counters, payers)],
        host=config["site_url"],
        stop_timeout=STOP_TIMEOUT_SECONDS,
    )
    env.events.request.add_listener(count_failure)
    runner = env.create_local_runner()
    print(f"load: {people.fixed_count} people and {payers} payers spawning", flush=True)
    runner.start(people.fixed_count + payers, spawn_rate=max(10, people.fixed_count / 10))
    if runner.spawning_greenlet is not None:
        runner.spawning_greenlet.join()
    gevent.sleep(config["warmup_seconds"])
    env.stats.reset_all()
    before = Counter(counters)
    print(PHASE_STARTED, flush=True)
    started = time.monotonic()
    gevent.sleep(config["run_seconds"])
    timed = _locust_figures(env.stats, time.monotonic() - started)
    timed["counters"] = dict(Counter(counters) - before)
    print(PHASE_ENDED, flush=True)
    runner.stop()  # graceful: loops running now finish (STOP_TIMEOUT_SECONDS at most)
    runner.quit()
    result = {
        "timed": timed,
        "counters": dict(counters),
        "failures": dict(failures),
        "locust_cpu_saturated": runner.cpu_warning_emitted,  # then latencies include Locust's
    }
    Path(config["result"]).write_text(json.dumps(result))
    print(f"load: stopped; {sum(failures.values())} failure(s) over the whole run", flush=True)


def _locust_figures(stats: Any, elapsed: float) -> dict[str, Any]:
    """Per request kind: count, failures, rate and percentiles (ms) of the timed phase."""

    def figures(entry: Any) -> dict[str, Any]:
        return {
            "count": entry.num_requests,
            "failures": entry.num_failures,
            "per_second": round(entry.num_requests / elapsed, 2),
            "p50_ms": entry.get_response_time_percentile(0.5),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "max_ms": round(entry.max_response_time or 0),
        }

    kinds = {e.name: figures(e) for e in stats.entries.values() if e.num_requests}
    http = [e for e in stats.entries.values() if e.method != "flow"]
    requests = sum(e.num_requests for e in http)
    return {
        "seconds": round(elapsed, 1),
        "kinds": dict(sorted(kinds.items())),
        "requests": requests,
        "requests_per_second": round(requests / elapsed, 2),
    }


# --------------------------------------------------------------------- one round


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _round(apps: int, args: argparse.Namespace) -> dict[str, Any]:
    """Start the shape with `apps` app processes, load it, measure, check, stop it."""
    shape = _new_shape(apps, args.workers)
    try:
        figures = _load_and_measure(shape, args)
    finally:
        _stop(shape)
    if args.keep:
        print(f"kept {shape.data_dir}", flush=True)
    else:
        shutil.rmtree(shape.data_dir, ignore_errors=True)
    return figures


def _load_and_measure(shape: Shape, args: argparse.Namespace) -> dict[str, Any]:
    from imgapp.core import db  # noqa: PLC0415 - not in the Locust process

    pages: Pages | None = None
    _start(shape, args)
    start = Baseline(_scrape(shape.site_url), _access_log(shape).stat().st_size)
    db.use_engine(db.make_engine(shape.database_url))
    try:
        cookies = _sign_up_all(shape.site_url, args.users)
        _fund(args.users)
        pages = _open_pages(shape.site_url, cookies[: args.pages]) if args.pages else None
        phase = _run_load(shape, _locust_config(shape, args, cookies), pages)
        unfinished = _drain()
        if pages:
            pages.close()  # nginx logs each socket (and where it went) as it closes
            pages = None
        return _round_figures(shape, start, phase, unfinished)
    finally:
        if pages:
            pages.close()
        db.use_engine(None)


@dataclass(frozen=True)
class Baseline:
    """The shape as it came up: its metrics, and how much nginx had logged (start-up's 503s)."""

    metrics: str
    log_offset: int


def _round_figures(shape: Shape, start: Baseline, phase: Phase, unfinished: int) -> dict[str, Any]:
    locust = json.loads((shape.data_dir / "locust.json").read_text())
    timed, counters = locust["timed"], locust["counters"]
    checks = _ledger_checks(shape.database_url)
    nginx = _nginx_figures(shape, start.log_offset)
    final = _scrape(shape.site_url)
    seconds = timed["seconds"]
    page_p50 = _percentile(phase.page_latencies, 0.5)
    page_p95 = _percentile(phase.page_latencies, 0.95)
    return {
        "apps": shape.apps,
        "workers": shape.workers,
        "seconds": seconds,
        "requests_per_second": timed["requests_per_second"],
        "tasks_completed_per_second": round(
            timed["counters"].get("tasks_completed", 0) / seconds, 2
        ),
        "recharges_per_second": round(timed["counters"].get("recharges_notified", 0) / seconds, 2),
        "kinds": timed["kinds"],
        "locust_failures": sum(locust["failures"].values()),
        "locust_cpu_saturated": locust["locust_cpu_saturated"],
        "failure_messages": locust["failures"],
        "nginx": nginx,
        "app_5xx": _app_5xx(final) - _app_5xx(start.metrics),
        "push_metric": metrics_text.push_latency(phase.metrics_before, phase.metrics_after),
        "push_pages": {
            "updates": len(phase.page_latencies),
            "p50_ms": page_p50,
            "p95_ms": page_p95,
            "max_ms": max(phase.page_latencies, default=None),
        },
        "tasks_submitted": counters.get("tasks_submitted", 0),
        "tasks_completed": counters.get("tasks_completed", 0),
        "tasks_unfinished_after_drain": unfinished,
        "recharges_sent": counters.get("recharges_notified", 0),
        "recharges_credited": checks["orders"].get("succeeded", 0),
        "ledger": checks,
    }


# --------------------------------------------------------------------- the report


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, ["-" * w for w in widths], *rows]:
        cells = [
            str(cell).ljust(width) if column == 0 else str(cell).rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells))


def _ratio(rounds: list[dict[str, Any]], key: str) -> str:
    if len(rounds) < 2 or not rounds[0][key]:  # noqa: PLR2004
        return ""
    return f"{rounds[-1][key] / rounds[0][key]:.2f}"


SUMMARY: list[tuple[str, Any, str]] = [  # label, one round's cell, the key compared 2-app/1-app
    ("requests/s", lambda r: f"{r['requests_per_second']:.1f}", "requests_per_second"),
    (
        "tasks completed/s",
        lambda r: f"{r['tasks_completed_per_second']:.2f}",
        "tasks_completed_per_second",
    ),
    ("recharges credited/s", lambda r: f"{r['recharges_per_second']:.2f}", "recharges_per_second"),
    ("errors: Locust failures", lambda r: str(r["locust_failures"]), ""),
    ("errors: 5xx, nginx log / app metric", lambda r: f"{r['nginx']['5xx']} / {r['app_5xx']}", ""),
    (
        "push p95 < 200 ms? metric (pushes)",
        lambda r: f"{_ms(r['push_metric']['p95_ms'])} ({r['push_metric']['pushes']})",
        "",
    ),
    (
        "push p95, pages' DOM (updates)",
        lambda r: f"{_ms(r['push_pages']['p95_ms'])} ({r['push_pages']['updates']})",
        "",
    ),
    ("page sockets by app port", lambda r: _by_port(r["nginx"]["page_sockets_by_upstream"]), ""),
    (
        "tasks completed / submitted",
        lambda r: f"{r['tasks_completed']} / {r['tasks_submitted']}",
        "",
    ),
    (
        "recharges credited / sent",
        lambda r: f"{r['recharges_credited']} / {r['recharges_sent']}",
        "",
    ),
    ("ledger invariant", lambda r: "ok" if r["ledger"]["ok"] else "VIOLATED", ""),
    ("Locust's own CPU above 90%", lambda r: "yes" if r["locust_cpu_saturated"] else "no", ""),
]


def _summary_rows(rounds: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [label, *(cell(r) for r in rounds), _ratio(rounds, key) if key else ""]
        for label, cell, key in SUMMARY
    ]


def _by_port(upstreams: dict[str, int]) -> str:
    return " ".join(f"{u.rsplit(':', 1)[-1]}:{n}" for u, n in sorted(upstreams.items())) or "-"


def _report(rounds: list[dict[str, Any]]) -> None:
    names = [f"{r['apps']} app{'s' if r['apps'] > 1 else ''}" for r in rounds]
    print(f"\n{rounds[0]['seconds']:.0f} s timed per round, same load in every round\n")
    _table(["", *names, "ratio"], _summary_rows(rounds))
    print("\nper request kind (timed phase): count, p50 / p95 / p99 ms\n")
    kinds = sorted({k for r in rounds for k in r["kinds"]})
    rows = []
    for kind in kinds:
        row = [kind]
        for r in rounds:
            k = r["kinds"].get(kind)
            row.append(
                "-"
                if k is None
                else f"{k['count']}: {k['p50_ms']:.0f} / {k['p95_ms']:.0f} / {k['p99_ms']:.0f}"
            )
        rows.append(row)
    _table(["kind", *names], rows)
    for r in rounds:
        for message, times in r["failure_messages"].items():
            print(f"  {r['apps']} app(s): {times} x {message}")
        for line in r["nginx"]["5xx_lines"]:
            print(f"  {r['apps']} app(s) nginx: {line}")
        for problem in r["ledger"]["problems"][:20]:
            print(f"  {r['apps']} app(s) ledger: {problem}")


# --------------------------------------------------------------------- main


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200, help="signed-in people generating")
    parser.add_argument("--recharges-per-second", type=float, default=20.0)
    parser.add_argument("--minutes", type=float, default=5.0, help="the timed phase, per round")
    parser.add_argument("--apps", default="1,2", help="app processes per round, in order")
    parser.add_argument("--workers", type=int, default=2, help="standalone task workers")
    parser.add_argument("--pages", type=int, default=10, help="people with /console open")
    parser.add_argument("--think-seconds", type=float, default=45.0, help="mean pause per person")
    parser.add_argument(
        "--warmup-seconds", type=float, default=60.0, help="after spawning, before the clock"
    )
    parser.add_argument(
        "--task-concurrency", type=int, default=8, help="tasks each worker runs at once"
    )
    parser.add_argument(
        "--render-seconds", type=float, default=1.0, help="offline renderer time per image"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "data" / "bench-load.json")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 20 people, 2 recharges/s, 30 s"
    )
    parser.add_argument("--keep", action="store_true", help="keep each round's data and logs")
    parser.add_argument("--locust-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.users, args.recharges_per_second, args.minutes = 20, 2.0, 0.5
        args.pages, args.think_seconds, args.warmup_seconds = 4, 10.0, 15.0
    args.pages = min(args.pages, args.users)
    return args


def main() -> None:
    """Run one round per `--apps` value, print the comparison, write the JSON."""
    args = _arguments()
    if args.locust_child:
        _locust_child(args.locust_child)
        return
    print(
        f"{args.users} people (think {args.think_seconds:.0f} s, {args.pages} with a page),"
        f" {args.recharges_per_second:g} recharges/s, {args.minutes:g} min timed per round;"
        f" {args.workers} workers x {args.task_concurrency} tasks; {os.cpu_count()} CPUs",
        flush=True,
    )
    rounds = [_round(int(apps), args) for apps in args.apps.split(",")]
    _report(rounds)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    args.json.write_text(json.dumps({"config": config, "rounds": rounds}, indent=2))
    print(f"\nJSON: {args.json}")
    if any(r["locust_failures"] or r["nginx"]["5xx"] or not r["ledger"]["ok"] for r in rounds):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
