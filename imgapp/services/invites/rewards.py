"""The inviter's reward: due at the invitee's first successful recharge, or granted by hand.

Credited through the ledger with one key per invitee, so never twice; or held
for an operator (`review`) when a cap is reached or a risk shows (the same
mailbox, the same address within 24 hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from imgapp.core.settings import get_settings
from imgapp.models import InviteRelation, InviteStatus, LedgerKind, UserSession
from imgapp.models.base import require_id, utcnow
from imgapp.services import audit, ledger
from imgapp.services.audit import Action
from imgapp.services.errors import NotFound, ValidationFailed
from imgapp.services.invites.binding import SAME_EMAIL


class HoldReason(StrEnum):
    """Why a due reward waits for an operator instead of being credited."""

    SAME_EMAIL = SAME_EMAIL  # the two accounts' normalised emails match
    SAME_IP = "same_ip"  # the invitee signed up from an address the inviter used within 24 h
    CAP_DAILY = "cap_daily"  # the inviter reached INVITE_CAP_PER_DAY rewards in 24 h
    CAP_TOTAL = "cap_total"  # the inviter reached INVITE_CAP_TOTAL rewards


@dataclass(frozen=True)
class Reward:
    """What became of an inviter's reward: for the caller, and for the inviter's open pages."""

    relation_id: int
    inviter_id: int
    invitee_id: int
    status: str
    reason: str
    credits: int
    balance: int | None  # the inviter's balance after a credit; None when nothing moved
    replayed: bool = False


def reward_key(invitee_id: int) -> str:
    """The ledger key of the reward one invitee earns their inviter: it is paid once."""
    return f"invite:reward:{invitee_id}"


def _locked_relation(session: Session, invitee_id: int) -> InviteRelation | None:
    statement = select(InviteRelation).where(InviteRelation.invitee_id == invitee_id)
    return session.exec(statement.with_for_update()).first()  # SQLite: BEGIN IMMEDIATE


def _reward_credits(first_recharge_credits: int) -> int:
    settings = get_settings()
    return settings.invite_reward_credits + (
        first_recharge_credits * settings.invite_reward_percent // 100
    )


def _hold_reason(session: Session, relation: InviteRelation) -> str:
    settings = get_settings()
    if relation.flag == SAME_EMAIL:
        return HoldReason.SAME_EMAIL.value
    if settings.invite_hold_same_ip and relation.invitee_ip:
        shared = session.exec(
            select(UserSession.id).where(
                col(UserSession.user_id) == relation.inviter_id,
                col(UserSession.ip) == relation.invitee_ip,
                col(UserSession.last_seen_at) >= relation.created_at - timedelta(hours=24),
            )
        ).first()
        if shared is not None:
            return HoldReason.SAME_IP.value
    rewarded = select(func.count()).where(
        col(InviteRelation.inviter_id) == relation.inviter_id,
        col(InviteRelation.status) == InviteStatus.REWARDED.value,
    )
    if settings.invite_cap_total and session.exec(rewarded).one() >= settings.invite_cap_total:
        return HoldReason.CAP_TOTAL.value
    if settings.invite_cap_per_day:
        today = rewarded.where(col(InviteRelation.rewarded_at) >= utcnow() - timedelta(days=1))
        if session.exec(today).one() >= settings.invite_cap_per_day:
            return HoldReason.CAP_DAILY.value
    return ""


def _outcome(relation: InviteRelation, balance: int | None, *, replayed: bool = False) -> Reward:
    return Reward(
        relation_id=require_id(relation.id),
        inviter_id=relation.inviter_id,
        invitee_id=relation.invitee_id,
        status=relation.status,
        reason=relation.status_reason,
        credits=relation.reward_credits,
        balance=balance,
        replayed=replayed,
    )


def _grant(session: Session, relation: InviteRelation, *, via: str) -> Reward:
    """Credit the inviter the relation's reward (once: the key is the invitee's)."""
    now = utcnow()
    balance = None
    if relation.reward_credits > 0:
        movement = ledger.credit(
            session,
            user_id=relation.inviter_id,
            credits=relation.reward_credits,
            kind=LedgerKind.REWARD,
            key=reward_key(relation.invitee_id),
            reference=ledger.Reference("invite", str(relation.invitee_id)),
            description=f"invite reward for user {relation.invitee_id}",
        )
        relation.reward_entry_id = movement.entry_id
        balance = movement.balance_after
    relation.status = InviteStatus.REWARDED.value
    relation.status_reason = ""
    relation.rewarded_at = now
    relation.updated_at = now
    session.flush()
    audit.record(
        session,
        action=Action.INVITE_REWARDED,
        actor_user_id=relation.inviter_id,
        target=str(relation.invitee_id),
        details={"credits": relation.reward_credits, "via": via},
    )
    return _outcome(relation, balance)


def on_first_recharge(session: Session, *, invitee_id: int, recharge_credits: int) -> Reward | None:
    """The invitee's first recharge just succeeded (in this transaction): reward or hold.

    Called from the one place an order becomes paid (`payments.notifications`),
    so the webhook, reconciliation and the sandbox all arrive here. A relation
    that is no longer pending (rewarded, held, rejected) is left as it is.
    """
    relation = _locked_relation(session, invitee_id)
    if relation is None or relation.status != InviteStatus.PENDING:
        return None
    relation.reward_credits = _reward_credits(recharge_credits)
    reason = _hold_reason(session, relation)
    if not reason:
        return _grant(session, relation, via="first_recharge")
    relation.status = InviteStatus.HELD.value
    relation.status_reason = reason
    relation.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        action=Action.INVITE_HELD,
        actor_user_id=relation.inviter_id,
        target=str(invitee_id),
        details={"reason": reason, "credits": relation.reward_credits},
    )
    return _outcome(relation, None)


def grant_now(session: Session, *, invitee_id: int) -> Reward:
    """The seed's manual path: the invitee's inviter gets the reward now, whatever its status.

    The fixed part when no recharge set the amount yet. Once granted, asking
    again (or a later first recharge) answers the same and credits nothing.
    `NotFound` for a user nobody invited.
    """
    relation = _locked_relation(session, invitee_id)
    if relation is None:
        raise NotFound
    if relation.status == InviteStatus.REWARDED:
        return _outcome(relation, None, replayed=True)
    if relation.status == InviteStatus.PENDING:
        relation.reward_credits = _reward_credits(0)
    return _grant(session, relation, via="manual")


def review(session: Session, *, invitee_id: int, approve: bool, reason: str = "") -> Reward:
    """An operator releases (credits) or rejects a held reward."""
    relation = _locked_relation(session, invitee_id)
    if relation is None:
        raise NotFound
    if relation.status != InviteStatus.HELD:
        raise ValidationFailed(
            "invite_not_held",
            f"Only a held reward can be reviewed; this one is {relation.status}.",
            field="invitee_id",
            status=relation.status,
        )
    if approve:
        audit.record(
            session,
            action=Action.INVITE_RELEASED,
            actor_user_id=relation.inviter_id,  # whose log shows it; an operator decided
            target=str(invitee_id),
            details={"was": relation.status_reason, "by": "operator"},
        )
        return _grant(session, relation, via="review")
    relation.status = InviteStatus.REJECTED.value
    relation.status_reason = (reason.strip() or relation.status_reason)[:64]
    relation.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        action=Action.INVITE_REJECTED,
        actor_user_id=relation.inviter_id,  # whose log shows it; an operator decided
        target=str(invitee_id),
        details={"reason": relation.status_reason, "by": "operator"},
    )
    return _outcome(relation, None)
