"""What an inviter sees: their code, everyone who signed up with it, the sums, their own inviter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from imgapp.models import InviteRelation, InviteStatus, PaymentStatus, PaymentTransaction, User
from imgapp.services.errors import NotFound
from imgapp.services.invites.binding import bind_deadline, inviter_of
from imgapp.services.invites.codes import give_code, mask_email


@dataclass(frozen=True)
class Invitee:
    """One person the user invited, as the user may see them."""

    user_id: int
    email: str  # masked
    joined_at: datetime
    first_recharge_at: datetime | None
    status: str
    reason: str
    reward: int  # credits credited (or waiting, when held)


@dataclass(frozen=True)
class Overview:
    """A user's invite code, their invitees and the sums over them."""

    code: str
    invitees: list[Invitee]
    invited_by: str = ""  # the masked email of whoever invited this user
    bind_until: datetime | None = None  # the user may still add a code until then

    @property
    def stats(self) -> dict[str, int]:
        """invited, qualified (recharged), rewarded, held, credits_earned."""
        rewarded = [i for i in self.invitees if i.status == InviteStatus.REWARDED]
        return {
            "invited": len(self.invitees),
            "qualified": sum(1 for i in self.invitees if i.first_recharge_at is not None),
            "rewarded": len(rewarded),
            "held": sum(1 for i in self.invitees if i.status == InviteStatus.HELD),
            "credits_earned": sum(i.reward for i in rewarded),
        }


def overview(session: Session, *, user_id: int) -> Overview:
    """The user's code (drawn if they have none yet) and everyone who signed up with it."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound
    code = give_code(session, user=user)
    first_paid = (
        select(
            col(PaymentTransaction.user_id).label("user_id"),
            func.min(col(PaymentTransaction.paid_at)).label("paid_at"),
        )
        .where(col(PaymentTransaction.status) == PaymentStatus.SUCCEEDED.value)
        .group_by(col(PaymentTransaction.user_id))
        .subquery()
    )
    found = session.execute(
        select(InviteRelation, User.email, User.created_at, first_paid.c.paid_at)
        .join(User, col(User.id) == col(InviteRelation.invitee_id))
        .outerjoin(first_paid, first_paid.c.user_id == col(InviteRelation.invitee_id))
        .where(col(InviteRelation.inviter_id) == user_id)
        .order_by(col(InviteRelation.id).desc())
    ).all()
    inviter = inviter_of(session, user_id=user_id)
    return Overview(
        code=code,
        invited_by=mask_email(inviter.email) if inviter is not None else "",
        bind_until=bind_deadline(session, user=user),
        invitees=[
            Invitee(
                user_id=relation.invitee_id,
                email=mask_email(email),
                joined_at=joined,
                first_recharge_at=paid,
                status=relation.status,
                reason=relation.status_reason,
                reward=relation.reward_credits,
            )
            for relation, email, joined, paid in found
        ],
    )
