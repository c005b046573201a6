"""Recharge orders: amounts, limits, and a notification that credits exactly once.

Runs on this run's database (SQLite, then PostgreSQL with `make test`).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import func, select

from imgapp.core import db
from imgapp.flows import recharge
from imgapp.gateways import xorpay
from imgapp.models import AuditLog, LedgerEntry, PaymentStatus, PaymentTransaction
from imgapp.services import ledger, payments
from imgapp.services.errors import ValidationFailed
from tests.support.factories import create_user

pytestmark = pytest.mark.usefixtures("engine")

SECRET = "notify-secret-0123456789"
PRICE_FEN = 10  # one credit


@pytest.mark.parametrize(
    ("given", "fen"),
    [("50", 5000), ("50.00", 5000), ("0.01", 1), ("1000.00", 100000), ("12.5", 1250), (7, 700)],
)
def test_amounts_in_yuan_become_fen(given, fen):
    assert payments.parse_amount(given) == fen


@pytest.mark.parametrize(
    ("given", "rule"),
    [
        ("0", "amount_too_small"),
        ("0.00", "amount_too_small"),
        ("-5", "amount_format"),
        ("1.234", "amount_format"),
        ("abc", "amount_format"),
        ("", "amount_format"),
        ("1e3", "amount_format"),
        (12.5, "amount_format"),
        (None, "amount_format"),
        (True, "amount_format"),
        ("050", "amount_format"),
    ],
)
def test_bad_amounts_say_what_to_send(given, rule):
    with pytest.raises(ValidationFailed) as caught:
        payments.parse_amount(given)
    assert caught.value.rule == rule


def test_limits_per_pay_type_and_the_credits_an_amount_buys():
    assert payments.check_order("50.00", "alipay", credit_price_fen=PRICE_FEN)[2] == 500
    assert payments.check_order("1000.00", "alipay", credit_price_fen=PRICE_FEN)[0] == 100000
    with pytest.raises(ValidationFailed) as caught:
        payments.check_order("1000.01", "alipay", credit_price_fen=PRICE_FEN)
    assert caught.value.rule == "amount_over_limit"
    assert payments.check_order("20000.00", "wechat", credit_price_fen=PRICE_FEN)[
        1
    ].gateway_name == ("native")
    with pytest.raises(ValidationFailed) as caught:
        payments.check_order("0.05", "alipay", credit_price_fen=PRICE_FEN)
    assert caught.value.rule == "amount_buys_nothing"
    with pytest.raises(ValidationFailed) as caught:
        payments.check_order("50.00", "paypal", credit_price_fen=PRICE_FEN)
    assert caught.value.rule == "pay_type_unknown"


def _order(amount_fen: int = 5000, credits: int = 500, expire_seconds: int = 900):
    user, _ = create_user()
    with db.transaction() as session:
        order = payments.open_order(
            session,
            user_id=user.id,
            amount_fen=amount_fen,
            pay_type_name="alipay",
            credits=credits,
            provider="xorpay",
            expire_seconds=expire_seconds,
        )
        payments.record_created(
            session, order_id=order.order_id, aoid="A1", qr="https://qr.example/A1", expires_in=900
        )
    return user, order


def _notification(order_id: str, price: str = "50.00", secret: str = SECRET) -> dict[str, str]:
    fields = {
        "aoid": "A1",
        "order_id": order_id,
        "pay_price": price,
        "pay_time": "2026-11-22 12:00:00",
        "more": "",
        "detail": '{"transaction_id": "2026112200001", "bank_type": "ALIPAY", "buyer": "b***"}',
    }
    fields["sign"] = xorpay.notify_sign(
        aoid="A1", order_id=order_id, pay_price=price, pay_time=fields["pay_time"], secret=secret
    )
    return fields


def _notify(fields: dict[str, str]) -> payments.Outcome:
    return recharge.notify(fields, app_secret=SECRET, ip="10.0.0.9")


def _count(model: type, *where) -> int:
    with db.read() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_valid_notification_pays_the_order_and_credits_once():
    user, order = _order()
    outcome = _notify(_notification(order.order_id))
    assert outcome.verdict == payments.Verdict.CREDITED
    assert outcome.balance == 500
    assert db.call_read(ledger.balance, user_id=user.id) == 500
    with db.read() as session:
        paid = payments.get_order(session, order_id=order.order_id)
        assert paid.status == PaymentStatus.SUCCEEDED
        assert (paid.transaction_id, paid.bank_type, paid.paid_price) == (
            "2026112200001",
            "ALIPAY",
            "50.00",
        )
        assert paid.notification is not None
        assert paid.notification["sign"]
        entry = session.get(LedgerEntry, paid.ledger_entry_id)
        assert entry is not None
        assert (entry.kind, entry.reference_id) == ("recharge", order.order_id)
    assert _count(AuditLog, AuditLog.action == "payment_succeeded") == 1
    again = _notify(_notification(order.order_id))
    assert again.verdict == payments.Verdict.ALREADY_CREDITED
    assert db.call_read(ledger.balance, user_id=user.id) == 500


def test_twenty_copies_at_once_credit_once():
    user, order = _order()
    fields = _notification(order.order_id)
    barrier = threading.Barrier(20)

    def send(_: int) -> payments.Verdict:
        barrier.wait()
        return _notify(fields).verdict

    with ThreadPoolExecutor(max_workers=20) as pool:
        verdicts = list(pool.map(send, range(20)))
    assert verdicts.count(payments.Verdict.CREDITED) == 1
    assert verdicts.count(payments.Verdict.ALREADY_CREDITED) == 19
    assert db.call_read(ledger.balance, user_id=user.id) == 500
    assert _count(LedgerEntry, LedgerEntry.kind == "recharge") == 1
    assert db.call_read(ledger.check_invariants) == []


@pytest.mark.parametrize(
    ("tamper", "verdict"),
    [
        (lambda f: {**f, "sign": "0" * 32}, payments.Verdict.BAD_SIGNATURE),
        (lambda f: {**f, "pay_price": "5000.00"}, payments.Verdict.BAD_SIGNATURE),  # sign covers it
        (
            lambda f: {k: v for k, v in f.items() if k != "pay_time"},
            payments.Verdict.MISSING_FIELDS,
        ),
        (lambda _f: _notification("R-no-such-order"), payments.Verdict.UNKNOWN_ORDER),
        (lambda f: _notification(f["order_id"], secret="guessed"), payments.Verdict.BAD_SIGNATURE),
    ],
)
def test_forged_incomplete_or_unknown_notifications_credit_nothing_and_are_audited(tamper, verdict):
    user, order = _order()
    outcome = _notify(tamper(_notification(order.order_id)))
    assert outcome.verdict == verdict
    assert not outcome.accepted
    assert db.call_read(ledger.balance, user_id=user.id) == 0
    with db.read() as session:
        assert payments.get_order(session, order_id=order.order_id).status == "pending"
        audited = session.exec(
            select(AuditLog).where(AuditLog.action == "notification_rejected")
        ).one()
        assert audited.ip == "10.0.0.9"
        assert audited.details["reason"] == verdict.value


def test_a_correctly_signed_wrong_amount_flags_the_order_and_credits_nothing():
    user, order = _order()
    outcome = _notify(_notification(order.order_id, price="0.01"))
    assert outcome.verdict == payments.Verdict.AMOUNT_MISMATCH
    assert db.call_read(ledger.balance, user_id=user.id) == 0
    with db.read() as session:
        flagged = payments.get_order(session, order_id=order.order_id)
        assert flagged.status == PaymentStatus.PENDING
        assert "0.01" in flagged.review_reason
        assert "50.00" in flagged.review_reason


def test_a_payment_after_expiry_is_honoured_and_audited_as_late():
    user, order = _order(expire_seconds=1)
    with db.transaction() as session:
        stale = session.get(PaymentTransaction, order.id)
        assert stale is not None
        stale.expires_at = stale.created_at - timedelta(minutes=5)
        stale.status = PaymentStatus.EXPIRED.value
    outcome = _notify(_notification(order.order_id))
    assert outcome.verdict == payments.Verdict.CREDITED
    assert db.call_read(ledger.balance, user_id=user.id) == 500
    assert _count(AuditLog, AuditLog.action == "payment_late") == 1


def test_a_refused_order_fails_and_an_unanswered_one_stays_pending():
    _, order = _order()
    other_user, _ = create_user()
    with db.transaction() as session:
        second = payments.open_order(
            session,
            user_id=other_user.id,
            amount_fen=100,
            pay_type_name="alipay",
            credits=10,
            provider="xorpay",
            expire_seconds=900,
        )
        payments.record_unanswered(session, order_id=second.order_id)
    with db.read() as session:
        still = payments.get_order(session, order_id=second.order_id)
        assert (still.status, still.confirmed, still.gateway_error) == (
            "pending",
            False,
            "unreachable",
        )
    with db.transaction() as session:
        payments.record_refused(session, order_id=second.order_id, gateway_status="fee_error")
    with db.read() as session:
        assert payments.get_order(session, order_id=second.order_id).status == "failed"
        assert payments.get_order(session, order_id=order.order_id).confirmed
