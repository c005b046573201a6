"""Steps the browser tests share: signing up, granting credits, watching a task's progress."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD
from tests.support.servers import PROJECT_ROOT, AppProcess

# Debian's Chromium as a container can run it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def sign_up(page: Page, app: AppProcess, email: str) -> None:
    """Register through the sign-up form and wait for the signed-in shell."""
    page.goto(app.url + "/register")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#signed-in-email")).to_have_text(email)


def grant(app: AppProcess, email: str, credits: int) -> None:
    """`python -m imgapp credits grant`, against the app's own database."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "imgapp",
            "credits",
            "grant",
            email,
            str(credits),
            "--reason",
            "e2e",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": app.database_url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def progress_messages(page: Page, task_id: str, *, at_least: int, seconds: float) -> set[str]:
    """The distinct progress messages a task card shows while watched, until `at_least`."""
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    message = page.locator(f".task-card[data-task-id='{task_id}'] .task-message")
    while time.monotonic() < deadline and len(seen) < at_least:
        if message.count():
            seen.add(message.inner_text())
        time.sleep(0.05)
    return seen
