"""Registration, sign-in and the failed sign-in throttle."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from imgapp.core import db
from imgapp.models import AuditLog, User
from imgapp.models.base import utcnow
from imgapp.services import accounts, audit, passwords
from imgapp.services.audit import Action
from imgapp.services.errors import (
    EmailTaken,
    InvalidCredentials,
    TooManyAttempts,
    ValidationFailed,
)
from tests.support.factories import PASSWORD, create_user, unique_email

pytestmark = pytest.mark.usefixtures("engine")


def _sign_in(email: str, password: str, ip: str = "10.0.0.1") -> accounts.SignInResult:
    check = db.call_read(accounts.check_sign_in, email=email, password=password, ip=ip)
    return db.call(accounts.finish_sign_in, check=check, ip=ip, user_agent="pytest")


def _count(action: Action) -> int:
    with db.read() as session:
        return session.exec(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == action.value)
        ).one()


def test_register_normalizes_email_and_stores_only_a_hash():
    user, token = create_user(email="  Ada@Example.COM ")
    assert user.email == "ada@example.com"
    assert token
    with db.read() as session:
        stored = session.get(User, user.id)
        assert stored is not None
        assert stored.password_hash.startswith("$argon2")
        assert PASSWORD not in stored.password_hash
    assert _count(Action.REGISTER) == 1


@pytest.mark.parametrize(
    ("email", "rule"),
    [("", "email_required"), ("not-an-email", "email_invalid"), ("a@b", "email_invalid")],
)
def test_register_refuses_bad_email_and_writes_nothing(email: str, rule: str):
    with pytest.raises(ValidationFailed) as caught:
        accounts.prepare_registration(email=email, password=PASSWORD)
    assert caught.value.rule == rule
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(User)).one() == 0


def test_register_same_email_twice_is_email_taken():
    create_user(email="dup@example.com")
    with pytest.raises(EmailTaken):
        create_user(email="DUP@example.com")


def test_concurrent_registrations_of_one_email_make_one_account():
    email = unique_email("race")
    account = accounts.prepare_registration(email=email, password=PASSWORD)

    def attempt(_: int) -> str:
        try:
            db.call(accounts.register, account=account)
        except EmailTaken:
            return "taken"
        return "created"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("created") == 1
    assert outcomes.count("taken") == 7
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(User)).one() == 1


def test_sign_in_with_right_password_opens_a_session_and_audits_it():
    user, _ = create_user()
    result = _sign_in(user.email.upper(), PASSWORD)
    assert result.error is None
    assert result.user is not None
    assert result.user.id == user.id
    assert result.token
    assert _count(Action.LOGIN) == 1


def test_wrong_password_and_unknown_email_give_the_same_error():
    user, _ = create_user()
    wrong = _sign_in(user.email, "wrong password")
    unknown = _sign_in("nobody@example.com", PASSWORD)
    assert isinstance(wrong.error, InvalidCredentials)
    assert isinstance(unknown.error, InvalidCredentials)
    assert wrong.token is None
    assert _count(Action.LOGIN_FAILED) == 2


def test_five_failures_lock_the_account_even_for_the_right_password(configure):
    configure(LOGIN_MAX_FAILURES_PER_IP="100")
    user, _ = create_user()
    for i in range(5):
        assert isinstance(_sign_in(user.email, "wrong", ip=f"10.0.1.{i}").error, InvalidCredentials)
    locked = _sign_in(user.email, PASSWORD, ip="10.0.2.1")
    assert isinstance(locked.error, TooManyAttempts)
    assert 0 < locked.error.retry_after <= 15 * 60
    assert locked.error.params["minutes"] == 15
    assert locked.token is None
    assert _count(Action.LOGIN_THROTTLED) == 1


def test_failures_from_one_ip_lock_that_ip_for_every_account(configure):
    configure(LOGIN_MAX_FAILURES_PER_IP="3", LOGIN_MAX_FAILURES_PER_ACCOUNT="100")
    user, _ = create_user()
    for i in range(3):
        _sign_in(f"stranger{i}@example.com", "wrong", ip="10.9.9.9")
    assert isinstance(_sign_in(user.email, PASSWORD, ip="10.9.9.9").error, TooManyAttempts)
    assert _sign_in(user.email, PASSWORD, ip="10.9.9.8").error is None


def test_failures_older_than_the_window_no_longer_count():
    user, _ = create_user()
    with db.transaction() as session:
        for _ in range(5):
            audit.record(session, action=Action.LOGIN_FAILED, target=user.email, ip="10.0.0.1")
        session.execute(
            update(AuditLog)
            .where(col(AuditLog.action) == Action.LOGIN_FAILED.value)
            .values(created_at=utcnow() - timedelta(minutes=16))
        )
    assert _sign_in(user.email, PASSWORD).error is None


def test_sign_in_rehashes_a_weaker_hash(monkeypatch):
    user, _ = create_user()
    monkeypatch.setattr(passwords, "needs_rehash", lambda _hash: True)
    before = user.password_hash
    assert _sign_in(user.email, PASSWORD).error is None
    with db.read() as session:
        after = session.get(User, user.id)
        assert after is not None
        assert after.password_hash != before
    assert passwords.verify_password(PASSWORD, after.password_hash)


def test_disabled_account_cannot_sign_in():
    user, _ = create_user()
    with db.transaction() as session:
        row = session.get(User, user.id)
        assert row is not None
        row.is_active = False
        session.add(row)
    assert isinstance(_sign_in(user.email, PASSWORD).error, InvalidCredentials)


def test_time_zone_is_validated_saved_and_audited():
    user, _ = create_user()
    saved = db.call(
        accounts.set_time_zone, user_id=user.id, time_zone=" Europe/Berlin ", ip="1.2.3.4"
    )
    assert saved.time_zone == "Europe/Berlin"
    with pytest.raises(ValidationFailed) as caught:
        db.call(accounts.set_time_zone, user_id=user.id, time_zone="Mars/Olympus")
    assert (caught.value.rule, caught.value.field) == ("time_zone_unknown", "time_zone")
    db.call(accounts.set_time_zone, user_id=user.id, time_zone="Europe/Berlin")  # unchanged
    back = db.call(accounts.set_time_zone, user_id=user.id, time_zone="")  # the site's again
    assert back.time_zone == ""
    with db.read() as session:
        assert session.get(User, user.id).time_zone == ""  # type: ignore[union-attr]
        events = session.exec(
            select(AuditLog)
            .where(
                AuditLog.actor_user_id == user.id,
                AuditLog.action == Action.TIME_ZONE_CHANGED.value,
            )
            .order_by(col(AuditLog.id))
        ).all()
    assert [e.details for e in events] == [
        {"from": "", "to": "Europe/Berlin"},
        {"from": "Europe/Berlin", "to": ""},
    ]
    assert events[0].ip == "1.2.3.4"
