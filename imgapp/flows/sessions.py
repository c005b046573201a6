"""Sessions a person ends (also by a new password) and new devices' sign-ins: committed, announced.

Each function commits its own transaction and then publishes a `session`
event (`core.events`) for the user's open pages:

- `{"kind": "revoked", "session_ids": [...]}`: those sessions are signed out;
  a tab showing one of them should go to sign-in.
- `{"kind": "new_device", "session_id", "device", "browser", "os", "ip", "at"}`:
  someone signed in from a device the account had not used ("this wasn't me"
  can revoke `session_id`).
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from imgapp.core import db, events
from imgapp.services import accounts, devices, sessions

log = logging.getLogger(__name__)
TOPIC = "session"


def _announce_revoked(user_id: int, session_ids: list[int]) -> None:
    if session_ids:
        events.publish(
            events.Event(
                topic=TOPIC, user_id=user_id, data={"kind": "revoked", "session_ids": session_ids}
            )
        )


def revoke_session(*, user_id: int, session_id: int, acting_session_id: int, ip: str = "") -> None:
    """End one of the user's sessions (audited); another user's or an unknown id is `NotFound`."""

    def run(session: Session) -> bool:
        row = sessions.revoke(
            session,
            user_id=user_id,
            session_id=session_id,
            ip=ip,
            acting_session_id=acting_session_id,
        )
        return row.revoked_at is not None

    if db.call(run):
        _announce_revoked(user_id, [session_id])


def revoke_other_sessions(*, user_id: int, keep_session_id: int, ip: str = "") -> list[int]:
    """End every other session of the user (audited); the ids that ended."""
    ended = db.call(
        sessions.sign_out_others, user_id=user_id, keep_session_id=keep_session_id, ip=ip
    )
    _announce_revoked(user_id, ended)
    return ended


def change_password(
    *, user_id: int, new_hash: str, keep_session_id: int, ip: str = ""
) -> list[int]:
    """Store the new password; every other session ends (and its open pages leave)."""
    ended = db.call(
        accounts.change_password,
        user_id=user_id,
        new_hash=new_hash,
        keep_session_id=keep_session_id,
        ip=ip,
    )
    _announce_revoked(user_id, ended)
    return ended


def after_sign_in(*, token: str) -> devices.NewDevice | None:
    """Check the session just opened with `token` against the account's earlier ones.

    A new device is audited (`new_device_sign_in`) and announced. Call it after
    the sign-in committed; a failure here never undoes the sign-in.
    """

    def run(session: Session) -> devices.NewDevice | None:
        principal = sessions.resolve(session, token=token)
        if principal is None:
            return None
        return devices.note_sign_in(session, session_id=principal.session_id)

    try:
        found = db.call(run)
    except SQLAlchemyError:
        log.exception("the new-device check failed; the sign-in stands")
        return None
    if found is not None:
        events.publish(events.Event(topic=TOPIC, user_id=found.user_id, data=found.event_data()))
    return found
