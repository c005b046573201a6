"""`python -m imgapp invites review` against this test's database."""

from __future__ import annotations

import os
import subprocess
import sys

from imgapp.core import db
from imgapp.models import User
from imgapp.services import invites, payments
from tests.support.factories import balance_of, create_user
from tests.support.servers import PROJECT_ROOT


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgapp", "invites", "review", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )


def _held_pair() -> tuple[int, int]:
    """An invitee whose reward is held: signed up from the inviter's address (127.0.0.1)."""
    inviter, _ = create_user()
    invitee, _ = create_user()
    with db.read() as session:
        code = session.get(User, inviter.id).invite_code  # type: ignore[union-attr]
    db.call(invites.bind, invitee_id=invitee.id, code=code, ip="127.0.0.1")
    with db.transaction() as session:
        order = payments.open_order(
            session,
            user_id=invitee.id,
            amount_fen=5000,
            pay_type_name="alipay",
            credits=500,
            provider="xorpay",
            expire_seconds=900,
        )
    db.call(payments.confirm_paid, order_id=order.order_id)
    return inviter.id, invitee.id


def test_review_lists_held_rewards_then_releases_one(engine, database_url):
    inviter_id, invitee_id = _held_pair()
    listed = _cli(database_url)
    assert listed.returncode == 0, listed.stderr
    assert f"invitee {invitee_id}" in listed.stdout
    assert "same_ip" in listed.stdout
    released = _cli(database_url, "--approve", str(invitee_id))
    assert released.returncode == 0, released.stderr
    assert "rewarded" in released.stdout
    assert balance_of(inviter_id) == 100
    again = _cli(database_url, "--approve", str(invitee_id))
    assert again.returncode == 1
    assert balance_of(inviter_id) == 100
    assert "No held invite rewards." in _cli(database_url).stdout


def test_a_rejection_needs_a_reason(engine, database_url):
    inviter_id, invitee_id = _held_pair()
    assert _cli(database_url, "--reject", str(invitee_id)).returncode == 1
    rejected = _cli(database_url, "--reject", str(invitee_id), "--reason", "one person")
    assert rejected.returncode == 0, rejected.stderr
    assert "rejected" in rejected.stdout
    assert balance_of(inviter_id) == 0
