"""`python -m imgapp tasks inspect|cancel|stuck` against this test's database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from imgapp.core import db
from imgapp.models import Task
from imgapp.models.base import utcnow
from imgapp.services import generation, ledger, queue
from tests.support.factories import funded_user
from tests.support.servers import PROJECT_ROOT

PARAMS = generation.Params(prompt="harbour at night", size="512x512", n=1, model="gpt-image-1")


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgapp", "tasks", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )


def _age(task_id: int, **values: object) -> None:
    with db.transaction() as session:
        session.execute(update(Task).where(col(Task.id) == task_id).values(**values))


def test_inspect_explains_a_task(engine, database_url):
    user = funded_user(100)
    task_id = db.call(queue.submit, user_id=user.id, params=PARAMS, provider="local").task.id
    done = _cli(database_url, "inspect", str(task_id))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"task {task_id} of {user.email}: pending" in done.stdout
    assert "charge      entry" in done.stdout
    assert "-4 at" in done.stdout
    assert "Nothing wrong." in done.stdout
    assert _cli(database_url, "inspect", "999999").returncode == 1


def test_stuck_lists_old_pending_and_lapsed_leases_and_inspect_says_why(engine, database_url):
    user = funded_user(100)
    held = db.call(queue.submit, user_id=user.id, params=PARAMS, provider="local").task.id
    db.call(queue.claim, worker_id="gone", limit=1, lease_seconds=30)
    _age(held, lease_expires_at=utcnow() - timedelta(seconds=5))
    waiting = db.call(queue.submit, user_id=user.id, params=PARAMS, provider="local").task.id
    _age(waiting, created_at=utcnow() - timedelta(minutes=10))
    done = _cli(database_url, "stuck")
    assert done.returncode == 1
    assert f"pending   task {waiting}" in done.stdout
    assert f"expired   task {held} worker gone" in done.stdout
    assert "stopped renewing the lease" in _cli(database_url, "inspect", str(held)).stdout
    assert "Waiting for a processor" in _cli(database_url, "inspect", str(waiting)).stdout


def test_cancel_refunds_the_owner_once(engine, database_url):
    user = funded_user(100)
    task_id = db.call(queue.submit, user_id=user.id, params=PARAMS, provider="local").task.id
    done = _cli(database_url, "cancel", str(task_id))
    assert done.returncode == 0, done.stderr
    assert "4 credits refunded" in done.stdout
    assert db.call_read(ledger.balance, user_id=user.id) == 100
    again = _cli(database_url, "cancel", str(task_id))
    assert again.returncode == 1
    assert "cancelled" in again.stderr
    assert db.call_read(ledger.balance, user_id=user.id) == 100
