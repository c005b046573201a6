"""`python -m imgapp credits grant|check` against this test's database."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text
from sqlmodel import select

from imgapp.core import db
from imgapp.models import AuditLog
from imgapp.services import ledger
from tests.support.factories import create_user, funded_user
from tests.support.servers import PROJECT_ROOT


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgapp", "credits", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )


def test_grant_adds_audited_credits(engine, database_url):
    user, _ = create_user(email="grant@example.com")
    done = _cli(database_url, "grant", "GRANT@example.com", "250", "--reason", "launch gift")
    assert done.returncode == 0, done.stderr
    assert "balance now 250" in done.stdout
    assert db.call_read(ledger.balance, user_id=user.id) == 250
    with db.read() as session:
        entry = db.call_read(ledger.statement, user_id=user.id)[0]
        assert (entry.kind, entry.description) == ("adjustment", "launch gift")
        audited = session.exec(select(AuditLog).where(AuditLog.action == "credits_adjusted")).one()
        assert audited.details["by"] == "operator"


def test_grant_refuses_unknown_users_overdrafts_and_missing_reasons(engine, database_url):
    user = funded_user(10, email="few@example.com")
    unknown = _cli(database_url, "grant", "nobody@example.com", "5", "--reason", "x")
    assert unknown.returncode == 1
    assert "No user" in unknown.stderr
    overdraft = _cli(database_url, "grant", "few@example.com", "-11", "--reason", "fix")
    assert overdraft.returncode == 1
    assert "Not enough credits" in overdraft.stderr
    blank = _cli(database_url, "grant", "few@example.com", "5", "--reason", "  ")
    assert blank.returncode == 1
    taken_back = _cli(database_url, "grant", "few@example.com", "-4", "--reason", "fix")
    assert taken_back.returncode == 0, taken_back.stderr
    assert db.call_read(ledger.balance, user_id=user.id) == 6


def test_check_passes_then_reports_a_tampered_balance(engine, database_url):
    user = funded_user(10)
    ok = _cli(database_url, "check")
    assert ok.returncode == 0, ok.stderr
    assert "1 account(s) checked" in ok.stdout
    with db.transaction() as session:
        session.execute(
            text("UPDATE billing_accounts SET balance = 99 WHERE user_id = :u"), {"u": user.id}
        )
    bad = _cli(database_url, "check")
    assert bad.returncode == 1
    assert f"user {user.id}" in bad.stderr
