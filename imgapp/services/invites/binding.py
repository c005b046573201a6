"""Binding an invitee to the inviter whose code they used.

Refused, writing nothing: an unknown code, one's own code, a second binding,
a cycle (the inviter was invited, directly or further up, by the invitee),
and after the window (7 days after sign-up, and never after a first
recharge). An invitee whose normalised email equals the inviter's is bound
but flagged; the reward is judged when it falls due (`rewards`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from imgapp.core.settings import get_settings
from imgapp.models import InviteRelation, LedgerKind, PaymentStatus, PaymentTransaction, User
from imgapp.models.base import require_id, utcnow
from imgapp.services import audit, ledger
from imgapp.services.audit import Action
from imgapp.services.errors import Conflict, NotFound, ValidationFailed
from imgapp.services.invites.codes import check_code, normalized_email

BINDING_WINDOW = timedelta(days=7)
SAME_EMAIL = "same_email"  # a relation's flag: the two accounts' normalised emails match


class AlreadyInvited(Conflict):
    """This account is already bound to an inviter."""

    code = "invite_already_bound"


def _owner(session: Session, code: str) -> User | None:
    return session.exec(select(User).where(User.invite_code == code)).first()


def _relation_of(session: Session, invitee_id: int) -> InviteRelation | None:
    return session.exec(
        select(InviteRelation).where(InviteRelation.invitee_id == invitee_id)
    ).first()


def _invited_by(session: Session, user_id: int, ancestor_id: int) -> bool:
    """Whether `ancestor_id` invited `user_id`, directly or further up the chain."""
    seen: set[int] = set()
    current: int | None = user_id
    while current is not None and current not in seen:
        seen.add(current)
        relation = _relation_of(session, current)
        if relation is None:
            return False
        if relation.inviter_id == ancestor_id:
            return True
        current = relation.inviter_id
    return False


def _has_paid(session: Session, user_id: int) -> bool:
    return (
        session.exec(
            select(PaymentTransaction.id).where(
                col(PaymentTransaction.user_id) == user_id,
                col(PaymentTransaction.status) == PaymentStatus.SUCCEEDED.value,
            )
        ).first()
        is not None
    )


def bind_deadline(session: Session, *, user: User) -> datetime | None:
    """Until when the user may still add an invite code; None once they may not."""
    user_id = require_id(user.id)
    if _relation_of(session, user_id) is not None or _has_paid(session, user_id):
        return None
    deadline = user.created_at + BINDING_WINDOW
    return deadline if utcnow() <= deadline else None


def inviter_of(session: Session, *, user_id: int) -> User | None:
    """Who invited the user, if anyone."""
    relation = _relation_of(session, user_id)
    return session.get(User, relation.inviter_id) if relation is not None else None


def bind(session: Session, *, invitee_id: int, code: object, ip: str = "") -> InviteRelation:
    """Bind the invitee to the owner of `code`, or raise saying why (nothing written)."""
    clean = check_code(code)
    invitee = session.get(User, invitee_id)
    if invitee is None:
        raise NotFound
    inviter = _owner(session, clean)
    if inviter is None:
        raise ValidationFailed(
            "invite_code_unknown", "No account has this invite code.", field="invite_code"
        )
    inviter_id = require_id(inviter.id)
    if inviter_id == invitee_id:
        raise ValidationFailed(
            "invite_own_code", "That is your own invite code.", field="invite_code"
        )
    if _relation_of(session, invitee_id) is not None:
        raise AlreadyInvited
    if _invited_by(session, inviter_id, invitee_id):
        raise ValidationFailed(
            "invite_cycle",
            "You invited this person (or someone who invited them); you cannot be theirs.",
            field="invite_code",
        )
    if utcnow() - invitee.created_at > BINDING_WINDOW or _has_paid(session, invitee_id):
        raise ValidationFailed(
            "invite_window_closed",
            "An invite code can be added within 7 days of sign-up, before the first recharge.",
            field="invite_code",
            days=BINDING_WINDOW.days,
        )
    same = normalized_email(inviter.email) == normalized_email(invitee.email)
    now = utcnow()
    relation = InviteRelation(
        inviter_id=inviter_id,
        invitee_id=invitee_id,
        code=clean,
        flag=SAME_EMAIL if same else "",
        invitee_ip=ip[:45],
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(relation)
            session.flush()
    except IntegrityError as exc:  # a concurrent binding of the same invitee won
        raise AlreadyInvited from exc
    welcome = get_settings().invite_welcome_credits
    if welcome:
        relation.welcome_entry_id = ledger.credit(
            session,
            user_id=invitee_id,
            credits=welcome,
            kind=LedgerKind.REWARD,
            key=welcome_key(invitee_id),
            reference=ledger.Reference("invite", str(invitee_id)),
            description="welcome bonus for joining by invitation",
        ).entry_id
        session.flush()
    audit.record(
        session,
        action=Action.INVITE_BOUND,
        actor_user_id=invitee_id,
        target=str(inviter_id),
        ip=ip,
        details={"code": clean, "flag": relation.flag},
    )
    return relation


def welcome_key(invitee_id: int) -> str:
    """The ledger key of an invitee's welcome bonus."""
    return f"invite:welcome:{invitee_id}"
