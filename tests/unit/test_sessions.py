"""Session tokens: stored hashed, resolved, touched, expired, revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from imgapp.core import db
from imgapp.models import UserSession
from imgapp.models.base import utcnow
from imgapp.services import sessions
from imgapp.services.errors import NotFound
from tests.support.factories import create_user

pytestmark = pytest.mark.usefixtures("engine")


def _row(token: str) -> UserSession:
    with db.read() as session:
        return session.exec(
            select(UserSession).where(UserSession.token_hash == sessions.hash_token(token))
        ).one()


def test_token_resolves_to_its_user_and_only_a_keyed_hash_is_stored():
    user, token = create_user()
    principal = db.call_read(sessions.resolve, token=token)
    assert principal is not None
    assert principal.user_id == user.id
    assert principal.email == user.email
    row = _row(token)
    assert row.token_hash != token
    assert len(row.token_hash) == 64
    assert row.expires_at > utcnow() + timedelta(days=29)


@pytest.mark.parametrize("token", [None, "", "not-a-token", "x" * 500])
def test_unknown_tokens_resolve_to_nobody(token):
    create_user()
    assert db.call_read(sessions.resolve, token=token) is None


def test_revoked_token_stops_resolving():
    _, token = create_user()
    assert db.call(sessions.revoke_token, token=token, ip="127.0.0.1")
    assert db.call_read(sessions.resolve, token=token) is None
    assert not db.call(sessions.revoke_token, token=token)


def test_expired_token_stops_resolving():
    _, token = create_user()
    with db.transaction() as session:
        row = session.exec(
            select(UserSession).where(UserSession.token_hash == sessions.hash_token(token))
        ).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    assert db.call_read(sessions.resolve, token=token) is None


def test_touch_updates_last_seen_and_ip():
    _, token = create_user()
    with db.transaction() as session:
        row = session.exec(
            select(UserSession).where(UserSession.token_hash == sessions.hash_token(token))
        ).one()
        row.last_seen_at = utcnow() - timedelta(minutes=5)
        session.add(row)
    principal = db.call_read(sessions.resolve, token=token)
    assert principal is not None
    assert principal.needs_touch
    db.call(sessions.touch, session_id=principal.session_id, ip="10.1.2.3")
    row = _row(token)
    assert utcnow() - row.last_seen_at < timedelta(seconds=30)
    assert row.ip == "10.1.2.3"


def test_a_user_cannot_revoke_someone_elses_session():
    owner, token = create_user()
    intruder, _ = create_user()
    victim_session = _row(token)
    with pytest.raises(NotFound):
        db.call(sessions.revoke, user_id=intruder.id, session_id=victim_session.id)
    assert db.call_read(sessions.resolve, token=token) is not None
    db.call(sessions.revoke, user_id=owner.id, session_id=victim_session.id)
    assert db.call_read(sessions.resolve, token=token) is None


def test_list_active_leaves_out_revoked_sessions():
    user, first = create_user()
    db.call(sessions.create, user_id=user.id, ip="", user_agent="b")
    db.call(sessions.revoke_token, token=first)
    active = db.call_read(sessions.list_active, user_id=user.id)
    assert [s.user_agent for s in active] == ["b"]


def test_cookie_header_parsing():
    assert sessions.token_from_cookie_header("a=1; imgapp_session=tok123; b=2") == "tok123"
    assert sessions.token_from_cookie_header("") is None
    assert sessions.token_from_cookie_header("other=1") is None
    assert sessions.token_from_cookie_header('bad"cookie') is None
