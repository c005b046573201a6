"""Invite codes and binding rules, on this run's database (SQLite, then PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import select

from imgapp.core import db
from imgapp.flows import recharge
from imgapp.gateways import xorpay
from imgapp.models import AuditLog, InviteRelation, PaymentStatus, PaymentTransaction, User
from imgapp.models.base import utcnow
from imgapp.services import invites, payments
from imgapp.services.errors import NotFound, TooManySignups, ValidationFailed
from imgapp.services.invites import codes as invite_codes
from tests.support.factories import balance_of, count_rows, create_user, unique_email

pytestmark = pytest.mark.usefixtures("engine")


def _code(user_id: int) -> str:
    with db.read() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert user.invite_code is not None
        return user.invite_code


def _bind(invitee_id: int, code: str) -> InviteRelation:
    return db.call(invites.bind, invitee_id=invitee_id, code=code, ip="10.0.0.7")


def _refused(invitee_id: int, code: str) -> str:
    before = count_rows(InviteRelation)
    with pytest.raises(ValidationFailed) as caught:
        _bind(invitee_id, code)
    assert count_rows(InviteRelation) == before  # nothing written
    return caught.value.rule


def test_every_user_gets_a_distinct_unambiguous_code_at_sign_up():
    codes = {_code(create_user()[0].id) for _ in range(20)}
    assert len(codes) == 20
    for code in codes:
        assert len(code) == 8
        assert not set(code) & set("01OIL")


def test_a_colliding_code_is_drawn_again(monkeypatch):
    first, _ = create_user()
    taken = _code(first.id)
    draws = iter([taken, taken, "ZZZZ2222"])
    monkeypatch.setattr(invite_codes, "new_code", lambda: next(draws))
    with db.transaction() as session:
        user = User(email=unique_email("collide"), password_hash="x")
        session.add(user)
        session.flush()
        assert invites.give_code(session, user=user) == "ZZZZ2222"


def test_binding_records_the_relation_and_audits_it():
    inviter, _ = create_user()
    invitee, _ = create_user()
    relation = _bind(invitee.id, f"  {_code(inviter.id).lower()} ")
    assert (relation.inviter_id, relation.invitee_id, relation.status) == (
        inviter.id,
        invitee.id,
        "pending",
    )
    assert (relation.flag, relation.invitee_ip) == ("", "10.0.0.7")
    with db.read() as session:
        events = session.exec(select(AuditLog).where(AuditLog.action == "invite_bound")).all()
    assert [(e.actor_user_id, e.target) for e in events][-1] == (invitee.id, str(inviter.id))


@pytest.mark.parametrize("code", ["", "ABC", "7KQ2MX9P0", "7KQ2MX9O", None, 12345678])
def test_a_malformed_code_says_what_a_code_looks_like(code):
    invitee, _ = create_user()
    assert _refused(invitee.id, code) == "invite_code_invalid"


def test_unknown_own_second_and_cyclic_bindings_are_refused():
    a, _ = create_user()
    b, _ = create_user()
    c, _ = create_user()
    assert _refused(b.id, "22222222") == "invite_code_unknown"
    assert _refused(a.id, _code(a.id)) == "invite_own_code"
    _bind(b.id, _code(a.id))  # a invited b
    with pytest.raises(invites.AlreadyInvited):
        _bind(b.id, _code(c.id))
    assert _refused(a.id, _code(b.id)) == "invite_cycle"
    _bind(c.id, _code(b.id))  # b invited c
    assert _refused(a.id, _code(c.id)) == "invite_cycle"  # a -> b -> c -> a


def test_the_window_closes_after_seven_days_or_a_first_recharge():
    inviter, _ = create_user()
    late, _ = create_user()
    paid, _ = create_user()
    with db.transaction() as session:
        session.get(User, late.id).created_at = utcnow() - timedelta(days=7, minutes=1)  # type: ignore[union-attr]
        now = utcnow()
        session.add(
            PaymentTransaction(
                order_id=f"R{paid.id:030d}"[:32],
                user_id=paid.id,
                provider="sandbox",
                pay_type="alipay",
                amount_fen=100,
                credits=10,
                status=PaymentStatus.SUCCEEDED.value,
                expires_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    assert _refused(late.id, _code(inviter.id)) == "invite_window_closed"
    assert _refused(paid.id, _code(inviter.id)) == "invite_window_closed"


@pytest.mark.parametrize(
    ("inviter_email", "invitee_email", "flagged"),
    [
        ("Ada.Lovelace@gmail.com", "adalovelace+promo@googlemail.com", True),
        ("ada@example.com", "ADA+2@example.com", True),
        ("a.da@example.com", "ada@example.com", False),  # dots only matter to Gmail
        ("ada@example.com", "bob@example.com", False),
    ],
)
def test_the_same_mailbox_under_another_address_is_flagged(inviter_email, invitee_email, flagged):
    inviter, _ = create_user(email=inviter_email)
    invitee, _ = create_user(email=invitee_email)
    relation = _bind(invitee.id, _code(inviter.id))
    assert (relation.flag == invites.SAME_EMAIL) is flagged


def test_normalised_emails():
    assert invites.normalized_email(" A.B+news@GoogleMail.com ") == "ab@gmail.com"
    assert invites.normalized_email("a.b+x@example.com") == "a.b@example.com"


# --- rewards -----------------------------------------------------------------------------------

SECRET = "notify-secret-0123456789"


def _order(user_id: int, credits: int = 500) -> str:
    with db.transaction() as session:
        order = payments.open_order(
            session,
            user_id=user_id,
            amount_fen=credits * 10,
            pay_type_name="alipay",
            credits=credits,
            provider="xorpay",
            expire_seconds=900,
        )
        payments.record_created(
            session, order_id=order.order_id, aoid="A1", qr="https://qr.example/A1", expires_in=900
        )
        return order.order_id


def _paid_notification(order_id: str, credits: int = 500) -> dict[str, str]:
    price = f"{credits * 10 // 100}.{credits * 10 % 100:02d}"
    fields = {
        "aoid": "A1",
        "order_id": order_id,
        "pay_price": price,
        "pay_time": "2026-11-23 12:00:00",
    }
    fields["sign"] = xorpay.notify_sign(**fields, secret=SECRET)
    return fields


def _invited_pair(**emails: str) -> tuple[User, User]:
    inviter, _ = create_user(email=emails.get("inviter"))
    invitee, _ = create_user(email=emails.get("invitee"))
    _bind(invitee.id, _code(inviter.id))
    return inviter, invitee


def _relation(invitee_id: int) -> InviteRelation:
    with db.read() as session:
        return session.exec(
            select(InviteRelation).where(InviteRelation.invitee_id == invitee_id)
        ).one()


def test_the_first_recharge_rewards_the_inviter_once_and_a_second_does_not(configure):
    configure(INVITE_REWARD_CREDITS="100", INVITE_REWARD_PERCENT="10")
    inviter, invitee = _invited_pair()
    outcome = recharge.notify(_paid_notification(_order(invitee.id)), app_secret=SECRET)
    assert outcome.reward is not None
    assert (outcome.reward.status, outcome.reward.credits) == ("rewarded", 150)
    assert balance_of(inviter.id) == 150
    assert outcome.reward.balance == 150
    again = recharge.notify(_paid_notification(_order(invitee.id, 200), 200), app_secret=SECRET)
    assert again.reward is None
    assert balance_of(inviter.id) == 150
    relation = _relation(invitee.id)
    assert (relation.status, relation.reward_credits) == ("rewarded", 150)
    assert relation.reward_entry_id is not None


def test_twenty_copies_of_the_first_payment_at_once_reward_once():
    inviter, invitee = _invited_pair()
    fields = _paid_notification(_order(invitee.id))
    barrier = threading.Barrier(20)

    def notify() -> bool:
        barrier.wait()
        return recharge.notify(dict(fields), app_secret=SECRET).reward is not None

    with ThreadPoolExecutor(max_workers=20) as pool:
        rewarded = list(pool.map(lambda _: notify(), range(20)))
    assert rewarded.count(True) == 1
    assert balance_of(inviter.id) == 100
    assert balance_of(invitee.id) == 500


def test_reconciliation_rewards_through_the_same_place():
    inviter, invitee = _invited_pair()
    confirmed = db.call(payments.confirm_paid, order_id=_order(invitee.id))
    assert confirmed.reward is not None
    assert confirmed.reward.status == "rewarded"
    assert balance_of(inviter.id) == 100


def test_the_same_mailbox_is_held_then_released_by_an_operator():
    inviter, invitee = _invited_pair(inviter="ada@gmail.com", invitee="a.da+2@gmail.com")
    confirmed = db.call(payments.confirm_paid, order_id=_order(invitee.id))
    assert (confirmed.reward.status, confirmed.reward.reason) == ("held", "same_email")
    assert balance_of(inviter.id) == 0
    released = db.call(invites.review, invitee_id=invitee.id, approve=True)
    assert (released.status, released.balance) == ("rewarded", 100)
    assert balance_of(inviter.id) == 100
    with pytest.raises(ValidationFailed):
        db.call(invites.review, invitee_id=invitee.id, approve=False)


def test_a_sign_up_from_the_inviters_address_is_held_unless_turned_off(configure):
    inviter, _ = create_user()  # signed in from 127.0.0.1 (tests.support.factories)
    invitee, _ = create_user()
    db.call(invites.bind, invitee_id=invitee.id, code=_code(inviter.id), ip="127.0.0.1")
    confirmed = db.call(payments.confirm_paid, order_id=_order(invitee.id))
    assert (confirmed.reward.status, confirmed.reward.reason) == ("held", "same_ip")
    rejected = db.call(invites.review, invitee_id=invitee.id, approve=False, reason="one person")
    assert (rejected.status, rejected.reason) == ("rejected", "one person")
    assert balance_of(inviter.id) == 0
    configure(INVITE_HOLD_SAME_IP="false")
    other, _ = create_user()
    db.call(invites.bind, invitee_id=other.id, code=_code(inviter.id), ip="127.0.0.1")
    assert db.call(payments.confirm_paid, order_id=_order(other.id)).reward.status == "rewarded"


def test_caps_hold_rewards_with_their_reason(configure):
    configure(INVITE_CAP_PER_DAY="1", INVITE_CAP_TOTAL="0")
    inviter, first = _invited_pair()
    second, _ = create_user()
    _bind(second.id, _code(inviter.id))
    assert db.call(payments.confirm_paid, order_id=_order(first.id)).reward.status == "rewarded"
    held = db.call(payments.confirm_paid, order_id=_order(second.id)).reward
    assert (held.status, held.reason) == ("held", "cap_daily")
    configure(INVITE_CAP_PER_DAY="0", INVITE_CAP_TOTAL="1")
    third, _ = create_user()
    _bind(third.id, _code(inviter.id))
    held = db.call(payments.confirm_paid, order_id=_order(third.id)).reward
    assert (held.status, held.reason) == ("held", "cap_total")


def test_the_manual_grant_pays_the_fixed_part_once_and_a_later_recharge_adds_nothing():
    inviter, invitee = _invited_pair()
    granted = db.call(invites.grant_now, invitee_id=invitee.id)
    assert (granted.status, granted.credits, granted.balance) == ("rewarded", 100, 100)
    again = db.call(invites.grant_now, invitee_id=invitee.id)
    assert again.replayed
    assert db.call(payments.confirm_paid, order_id=_order(invitee.id)).reward is None
    assert balance_of(inviter.id) == 100
    stranger, _ = create_user()
    with pytest.raises(NotFound):
        db.call(invites.grant_now, invitee_id=stranger.id)


def test_a_welcome_bonus_is_credited_to_the_invitee_once(configure):
    configure(INVITE_WELCOME_CREDITS="20")
    _, invitee = _invited_pair()
    assert balance_of(invitee.id) == 20
    assert _relation(invitee.id).welcome_entry_id is not None


def test_sign_ups_beyond_the_limit_per_address_are_refused_for_the_hour(configure):
    configure(SIGNUP_LIMIT_PER_IP_PER_HOUR="2")
    create_user()
    create_user()
    users = count_rows(User)
    with pytest.raises(TooManySignups) as caught:
        create_user()
    assert 1 <= caught.value.retry_after <= 3600
    assert count_rows(User) == users
