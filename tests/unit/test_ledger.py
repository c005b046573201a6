"""The credit ledger: exact, atomic, idempotent; the database refuses to rewrite history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import select

from imgapp.core import db
from imgapp.models import AuditLog, LedgerEntry, LedgerKind
from imgapp.models.base import utcnow
from imgapp.services import ledger
from imgapp.services.errors import (
    IdempotencyConflict,
    InsufficientCredits,
    NotFound,
    RefundExceedsCharge,
    ValidationFailed,
)
from tests.support.factories import balance_of, count_rows, create_user, funded_user

pytestmark = pytest.mark.usefixtures("engine")


def test_sign_up_opens_an_empty_account():
    user, _ = create_user()
    assert balance_of(user.id) == 0
    assert db.call_read(ledger.check_invariants) == []


def test_charge_moves_the_balance_and_records_entry_usage_and_audit():
    user = funded_user(100)
    movement = db.call(
        ledger.charge,
        user_id=user.id,
        credits=30,
        key="charge:test:1",
        usage=ledger.Usage(task_id=7, model="gpt-image-1", size="1024x1024", image_count=2),
        reference=ledger.Reference("task", "7"),
        description="two images",
    )
    assert movement.amount == -30
    assert movement.balance_after == 70
    assert not movement.replayed
    assert balance_of(user.id) == 70
    with db.read() as session:
        entry = session.get(LedgerEntry, movement.entry_id)
        assert entry is not None
        assert (entry.kind, entry.reference_type, entry.reference_id) == ("charge", "task", "7")
        # What it paid for is on the entry itself: one row per charge, not two.
        assert (entry.task_id, entry.model, entry.size, entry.image_count) == (
            7,
            "gpt-image-1",
            "1024x1024",
            2,
        )
        audited = session.exec(select(AuditLog).where(AuditLog.action == "credits_charged")).one()
        assert audited.actor_user_id == user.id
        assert audited.details["entry_id"] == entry.id


def test_insufficient_credits_is_typed_and_writes_nothing():
    user = funded_user(10)
    entries, audits = count_rows(LedgerEntry), count_rows(AuditLog)
    with pytest.raises(InsufficientCredits) as caught:
        db.call(ledger.charge, user_id=user.id, credits=11, key="too-much", usage=ledger.Usage())
    assert (caught.value.balance, caught.value.needed) == (10, 11)
    assert balance_of(user.id) == 10
    assert (count_rows(LedgerEntry), count_rows(AuditLog)) == (entries, audits)


def test_charging_exactly_the_balance_leaves_zero():
    user = funded_user(25)
    assert db.call(ledger.charge, user_id=user.id, credits=25, key="all").balance_after == 0
    with pytest.raises(InsufficientCredits):
        db.call(ledger.charge, user_id=user.id, credits=1, key="one-more")


def test_same_key_twice_returns_the_first_result_and_charges_once():
    user = funded_user(100)
    first = db.call(ledger.charge, user_id=user.id, credits=40, key="dup")
    second = db.call(ledger.charge, user_id=user.id, credits=40, key="dup")
    assert second.replayed
    assert (second.entry_id, second.balance_after) == (first.entry_id, first.balance_after)
    assert balance_of(user.id) == 60


def test_replay_after_the_balance_ran_out_is_still_a_replay():
    user = funded_user(40)
    first = db.call(ledger.charge, user_id=user.id, credits=40, key="spent")
    again = db.call(ledger.charge, user_id=user.id, credits=40, key="spent")
    assert again.replayed
    assert again.entry_id == first.entry_id


def test_a_key_reused_for_something_else_is_a_conflict_and_moves_nothing():
    user = funded_user(100)
    other = funded_user(100)
    db.call(ledger.charge, user_id=user.id, credits=10, key="k1")
    with pytest.raises(IdempotencyConflict):
        db.call(ledger.charge, user_id=user.id, credits=11, key="k1")
    with pytest.raises(IdempotencyConflict):
        db.call(ledger.charge, user_id=other.id, credits=10, key="k1")
    assert (balance_of(user.id), balance_of(other.id)) == (90, 100)


@pytest.mark.parametrize("bad", [0, -5, 1.5, "3", None, True, 10**13])
def test_amounts_that_are_not_positive_integers_are_refused(bad):
    user = funded_user(100)
    with pytest.raises(ValidationFailed):
        db.call(ledger.charge, user_id=user.id, credits=bad, key=f"bad-{bad!r}")
    assert balance_of(user.id) == 100


@pytest.mark.parametrize("key", ["", "   ", None, "x" * 129])
def test_unusable_idempotency_keys_are_refused(key):
    user = funded_user(100)
    with pytest.raises(ValidationFailed):
        db.call(ledger.charge, user_id=user.id, credits=1, key=key)


def test_charging_a_user_without_an_account_is_not_found():
    with pytest.raises(NotFound):
        db.call(ledger.charge, user_id=987654, credits=1, key="ghost")


def test_credit_kinds_and_what_credit_refuses():
    user, _ = create_user()
    db.call(ledger.credit, user_id=user.id, credits=50, kind=LedgerKind.RECHARGE, key="r1")
    db.call(ledger.credit, user_id=user.id, credits=5, kind=LedgerKind.REWARD, key="w1")
    assert balance_of(user.id) == 55
    with pytest.raises(ValueError, match="cannot record"):
        db.call(ledger.credit, user_id=user.id, credits=5, kind=LedgerKind.CHARGE, key="c1")


def test_refund_gives_back_the_charge_exactly_once():
    user = funded_user(100)
    db.call(ledger.charge, user_id=user.id, credits=30, key="charge:task:1")
    refund = db.call(
        ledger.refund, user_id=user.id, charge_key="charge:task:1", key="refund:task:1"
    )
    assert (refund.amount, refund.balance_after) == (30, 100)
    again = db.call(ledger.refund, user_id=user.id, charge_key="charge:task:1", key="refund:task:1")
    assert again.replayed
    assert again.entry_id == refund.entry_id
    with pytest.raises(RefundExceedsCharge):
        db.call(ledger.refund, user_id=user.id, charge_key="charge:task:1", key="refund:task:1b")
    assert balance_of(user.id) == 100


def test_partial_refunds_never_add_up_to_more_than_the_charge():
    user = funded_user(100)
    db.call(ledger.charge, user_id=user.id, credits=30, key="c")
    db.call(ledger.refund, user_id=user.id, charge_key="c", key="r1", credits=20)
    with pytest.raises(RefundExceedsCharge):
        db.call(ledger.refund, user_id=user.id, charge_key="c", key="r2", credits=11)
    rest = db.call(ledger.refund, user_id=user.id, charge_key="c", key="r3")
    assert rest.amount == 10
    assert balance_of(user.id) == 100


def test_refunding_someone_elses_charge_is_not_found():
    owner = funded_user(100)
    thief = funded_user(0)
    db.call(ledger.charge, user_id=owner.id, credits=30, key="owners")
    with pytest.raises(NotFound):
        db.call(ledger.refund, user_id=thief.id, charge_key="owners", key="steal")
    assert balance_of(thief.id) == 0


def test_operator_adjustments_go_both_ways_but_never_below_zero():
    user = funded_user(10)
    db.call(ledger.adjust, user_id=user.id, credits=-4, key="adj1", description="fix")
    assert balance_of(user.id) == 6
    with pytest.raises(InsufficientCredits):
        db.call(ledger.adjust, user_id=user.id, credits=-7, key="adj2", description="too far")
    with pytest.raises(ValidationFailed):
        db.call(ledger.adjust, user_id=user.id, credits=0, key="adj3", description="nothing")


def test_the_database_refuses_to_edit_or_delete_ledger_entries():
    user = funded_user(10)
    for statement in (
        "UPDATE ledger_entries SET amount = 1000000",
        "DELETE FROM ledger_entries",
    ):
        with pytest.raises(DBAPIError, match="immutable"), db.transaction() as session:
            session.execute(text(statement))
    assert balance_of(user.id) == 10
    assert db.call_read(ledger.check_invariants) == []


def test_the_database_refuses_a_negative_balance():
    user = funded_user(10)
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.execute(
            text("UPDATE billing_accounts SET balance = -1 WHERE user_id = :u"), {"u": user.id}
        )


def test_invariant_check_finds_a_tampered_balance():
    user = funded_user(10)
    assert db.call_read(ledger.check_invariants) == []
    with db.transaction() as session:
        session.execute(
            text("UPDATE billing_accounts SET balance = 11 WHERE user_id = :u"), {"u": user.id}
        )
    problems = db.call_read(ledger.check_invariants)
    assert [p.user_id for p in problems] == [user.id]
    assert "entries sum to 10" in str(problems[0])


def test_statement_filters_by_time_and_lists_newest_first():
    user = funded_user(100)
    for i in range(3):
        db.call(ledger.charge, user_id=user.id, credits=1, key=f"s{i}")
    entries = db.call_read(ledger.statement, user_id=user.id)
    assert [e.amount for e in entries] == [-1, -1, -1, 100]
    assert entries[0].id > entries[-1].id
    later = db.call_read(ledger.statement, user_id=user.id, start=utcnow() + timedelta(minutes=1))
    assert later == []
    assert len(db.call_read(ledger.statement, user_id=user.id, limit=2)) == 2
