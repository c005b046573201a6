"""Signing up, one transaction: the account, its session, and the invite it came with.

An invite code that cannot be bound (unknown, or the sign-up limit reached)
undoes the whole sign-up, so the person can fix the code and try again; no
account is left half made. A bound code is announced to the inviter.
"""

from __future__ import annotations

from sqlmodel import Session

from imgapp.core import db
from imgapp.flows import invites as invite_flow
from imgapp.models import InviteRelation, User
from imgapp.models.base import require_id
from imgapp.services import accounts, invites


def sign_up(
    *,
    account: accounts.NewAccount,
    ip: str,
    user_agent: str,
    invite_code: str | None = None,
) -> tuple[User, str]:
    """Create the account, sign it in, bind its invite code; the user and the session token."""

    def run(session: Session) -> tuple[User, str, InviteRelation | None]:
        user, token = accounts.register(session, account=account, ip=ip, user_agent=user_agent)
        relation = None
        if invite_code:
            relation = invites.bind(
                session, invitee_id=require_id(user.id), code=invite_code, ip=ip
            )
        return user, token, relation

    user, token, relation = db.call(run)
    invite_flow.announce_bound(relation)
    return user, token
