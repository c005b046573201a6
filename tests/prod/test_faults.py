"""Faults in the production shape: every task finishes exactly once, the books stay exact.

In order, on the one shape of the run: a worker killed mid-task (SIGKILL),
Redis restarted, each app process killed in turn, PostgreSQL stopped and
started, and a rolling restart of everything under load. After each, the
open page still follows what happens without a reload, and `books.problems`
finds nothing wrong.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections import Counter

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from tests.support import books
from tests.support.factories import PASSWORD
from tests.support.prod_shape import ProdShape
from tests.support.shape_client import ShapeUser


def _signed_in_console(browser_context, shape: ProdShape, user: ShapeUser) -> Page:
    page = browser_context.new_page()
    page.goto(shape.url + "/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#signed-in-email")).to_have_text(user.email)
    page.goto(shape.url + "/console")
    expect(page.locator("#generate")).to_be_visible()
    return page


def _generates_live(page: Page, timeout_ms: int = 90_000) -> str:
    """Submit on the page; the new task's card reaches `completed` with no reload."""
    before = page.locator(".task-card").count()
    page.fill("#prompt", f"a harbour at night {time.time_ns()}")
    page.click("#generate")
    expect(page.locator(".task-card")).to_have_count(before + 1, timeout=timeout_ms)
    card = page.locator(".task-card").first
    task_id = card.get_attribute("data-task-id")
    expect(page.locator(f".task-card[data-task-id='{task_id}']")).to_have_attribute(
        "data-status", "completed", timeout=timeout_ms
    )
    return task_id


def _worker_of(shape: ProdShape, task_id: int, timeout: float = 60) -> str:
    """The worker id holding `task_id` once it is being processed."""
    engine = create_engine(shape.database_url.replace("postgresql://", "postgresql+psycopg://"))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                row = connection.execute(
                    text("SELECT status, worker_id FROM ai_images_creator_tasks WHERE id = :id"),
                    {"id": task_id},
                ).one()
            if row.status == "processing" and row.worker_id:
                return str(row.worker_id)
            time.sleep(0.1)
    finally:
        engine.dispose()
    msg = f"task {task_id} was not taken by a worker"
    raise TimeoutError(msg)


def test_a_worker_killed_mid_task_loses_nothing(shape, shape_user):
    tasks = [shape_user.submit(n=4) for _ in range(3)]
    holder = _worker_of(shape, tasks[0])
    index = int(holder.rsplit("-", 1)[1]) - 1
    victim = shape.pids("WORKER_PIDS")[index]
    shape.kill(victim, signal.SIGKILL)
    # Its task's lease lapses (6 s here) and the other worker, or the restarted one, takes it.
    statuses = shape_user.wait_finished(tasks, timeout=180)
    assert set(statuses.values()) == {"completed"}, statuses
    shape.wait_restarted("WORKER_PIDS", [victim])
    assert books.problems(shape.database_url) == []


def test_redis_restarted_mid_run_live_updates_resume(shape, shape_user, browser_context):
    page = _signed_in_console(browser_context, shape, shape_user)
    _generates_live(page)
    running = shape_user.submit(n=2)
    old = shape.pids("REDIS_PID")
    shape.kill(old[0], signal.SIGKILL)
    shape.wait_restarted("REDIS_PID", old)
    shape.wait_ready()
    # The task that ran through the restart finished; the page shows it, and goes on.
    assert shape_user.wait_finished([running]) == {running: "completed"}
    expect(page.locator(f".task-card[data-task-id='{running}']")).to_have_attribute(
        "data-status", "completed", timeout=60_000
    )
    _generates_live(page)
    assert books.problems(shape.database_url) == []


def test_each_app_process_killed_in_turn_the_page_reconnects_to_the_other(
    shape, shape_user, browser_context
):
    page = _signed_in_console(browser_context, shape, shape_user)
    balance = shape_user.balance()
    for index in range(len(shape.app_urls())):
        victim = shape.pids("APP_PIDS")[index]
        shape.kill(victim, signal.SIGKILL)
        # Whichever process held the page's socket, it is on a live one now.
        task_id = _generates_live(page)
        balance -= 8
        expect(page.locator("#header-balance")).to_have_text(str(balance))
        assert shape_user.task(int(task_id))["status"] == "completed"
        shape.wait_restarted("APP_PIDS", [victim])
        shape.wait_ready()
    assert books.problems(shape.database_url) == []


def test_postgresql_stopped_answers_503_then_recovers_without_restarts(shape, shape_user):
    before = {key: shape.pids(key) for key in ("APP_PIDS", "WORKER_PIDS")}
    queued = [shape_user.submit() for _ in range(2)]
    shape.postgres("stop")
    try:
        deadline = time.monotonic() + 30
        answer = httpx.get(shape.url + "/api/health/ready", timeout=10)
        while answer.status_code != 503 and time.monotonic() < deadline:
            time.sleep(0.5)
            answer = httpx.get(shape.url + "/api/health/ready", timeout=10)
        assert answer.status_code == 503
        assert "database" in answer.text
        me = shape_user.http.get("/api/auth/me")
        assert me.status_code == 503, me.text
        assert "Traceback" not in me.text
    finally:
        shape.postgres("start")
    shape.wait_ready(timeout=120)
    assert {key: shape.pids(key) for key in before} == before  # recovered, not restarted
    later = shape_user.submit()
    statuses = shape_user.wait_finished([*queued, later], timeout=180)
    assert set(statuses.values()) == {"completed"}, statuses
    assert books.problems(shape.database_url) == []


def _keep_asking(
    shape: ProdShape, user: ShapeUser, stop: threading.Event, outcomes: Counter
) -> None:
    """Signed-in reads and a task now and then, through nginx, until `stop`.

    Reads go 5 a second, a task every 4 s; outcomes are counted by request and status.
    """
    submit = ("POST", "/api/generate-image", {"prompt": "rolling", "size": "512x512"})
    reads = [("GET", "/api/auth/me", None), ("GET", "/api/billing/summary", None)]
    with httpx.Client(base_url=shape.url, timeout=30, headers={"origin": shape.url}) as http:
        http.cookies = user.http.cookies
        for round_number in itertools.count():
            if stop.is_set():
                return
            for method, path, body in [*reads, *([submit] if round_number % 20 == 0 else [])]:
                try:
                    answer = http.request(method, path, json=body)
                    outcomes[f"{method} {path} {answer.status_code}"] += 1
                except httpx.HTTPError as exc:
                    outcomes[f"{method} {path} {type(exc).__name__}"] += 1
            time.sleep(0.2)


def test_a_rolling_restart_loses_no_request_and_no_live_page(shape, shape_user, browser_context):
    page = _signed_in_console(browser_context, shape, shape_user)
    old_apps, old_workers = shape.pids("APP_PIDS"), shape.pids("WORKER_PIDS")
    outcomes: Counter = Counter()
    stop = threading.Event()
    askers = [
        threading.Thread(target=_keep_asking, args=(shape, shape_user, stop, outcomes))
        for _ in range(2)
    ]
    for asker in askers:
        asker.start()
    shape.rolling_restart()
    try:
        shape.wait_restarted("APP_PIDS", old_apps, timeout=300)
        shape.wait_restarted("WORKER_PIDS", old_workers, timeout=300)
        deadline = time.monotonic() + 120
        while "rolling restart done" not in shape.log_tail() and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stop.set()
        for asker in askers:
            asker.join()
    bad = {k: v for k, v in outcomes.items() if not k.endswith((" 200", " 201", " 202"))}
    assert bad == {}, outcomes
    assert sum(outcomes.values()) > 30
    _generates_live(page)
    tasks = [int(t["task_id"]) for t in shape_user.http.get("/api/generate-image?limit=100").json()]
    statuses = shape_user.wait_finished(tasks, timeout=240)
    assert set(statuses.values()) == {"completed"}, Counter(statuses.values())
    assert books.problems(shape.database_url) == []
