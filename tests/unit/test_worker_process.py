"""`python -m imgapp.worker` as a real process: killed mid-task, or stopped politely."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlmodel import func, select

from imgapp.core import db
from imgapp.gateways.providers import LocalProvider
from imgapp.models import LedgerEntry, Task
from imgapp.services import generation, ledger, queue
from imgapp.worker.processor import Processor
from tests.support import aio
from tests.support.factories import funded_user
from tests.support.servers import PROJECT_ROOT

PARAMS = generation.Params(prompt="a slow painting", size="512x512", n=1)


def _spawn(database_url: str, worker_id: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOCAL_RENDER_SECONDS": "60",  # far longer than the test: it is mid-task when stopped
        "TASK_LEASE_SECONDS": "3",
        "TASK_POLL_SECONDS": "0.2",
        "TASK_PROGRESS_INTERVAL_SECONDS": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "imgapp.worker", "--worker-id", worker_id],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _task(task_id: int) -> Task:
    with db.read() as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task


def _wait_for(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_a_task_of_a_killed_worker_is_retried_elsewhere_and_charged_once(
    engine,
    database_url,
    configure,
):
    configure(TASK_LEASE_SECONDS="3")
    user = funded_user(100)
    task_id = db.call(queue.submit, user_id=user.id, params=PARAMS, provider="local").task.id
    worker = _spawn(database_url, "doomed")
    try:
        _wait_for(
            lambda: _task(task_id).worker_id == "doomed" and _task(task_id).progress > 0,
            30,
            "the worker to start the task",
        )
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    assert _task(task_id).status == "processing"  # nobody told the database

    rescuer = Processor(worker_id="rescuer", provider_factory=lambda: LocalProvider(0))

    async def rescue() -> None:
        deadline = time.monotonic() + 30
        while _task(task_id).status != "completed":
            assert time.monotonic() < deadline, "the task was not recovered"
            await rescuer.poll_once()
            await asyncio.sleep(0.2)

    aio.run(rescue())
    task = _task(task_id)
    assert (task.worker_id, task.attempts) == ("rescuer", 2)
    with db.read() as session:
        kinds = session.exec(
            select(LedgerEntry.kind, func.count())
            .where(LedgerEntry.reference_id == str(task_id))
            .group_by(LedgerEntry.kind)
        ).all()
    assert dict(kinds) == {"charge": 1}
    assert db.call_read(ledger.balance, user_id=user.id) == 100 - task.cost


def test_sigterm_gives_the_running_task_back(engine, database_url):
    user = funded_user(100)
    task_id = db.call(queue.submit, user_id=user.id, params=PARAMS, provider="local").task.id
    worker = _spawn(database_url, "polite")
    try:
        _wait_for(lambda: _task(task_id).worker_id == "polite", 30, "the worker to claim")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    task = _task(task_id)
    assert (task.status, task.worker_id, task.attempts) == ("pending", None, 0)
    assert db.call_read(ledger.balance, user_id=user.id) == 100 - task.cost
