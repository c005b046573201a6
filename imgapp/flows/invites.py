"""Invitations, one function per action: bind a code, review a held reward, grant one by hand.

Each commits its own transaction, then tells the inviter's open pages (the
`invite` topic): a new invitee appears on `/invites`, a reward moves the
header balance and the invitee's status there.
"""

from __future__ import annotations

from imgapp.core import db, events
from imgapp.models import InviteRelation
from imgapp.services import invites


def bind(*, invitee_id: int, code: object, ip: str) -> InviteRelation:
    """Bind the user to the owner of `code` (or raise why not), then tell the inviter."""
    relation = db.call(invites.bind, invitee_id=invitee_id, code=code, ip=ip)
    announce_bound(relation)
    return relation


def grant_now(*, invitee_id: int) -> invites.Reward:
    """The manual reward for the invitee's inviter (idempotent), announced when it credited."""
    granted = db.call(invites.grant_now, invitee_id=invitee_id)
    if not granted.replayed:
        announce_reward(granted)
    return granted


def review(*, invitee_id: int, approve: bool, reason: str = "") -> invites.Reward:
    """An operator releases (credits) or rejects a held reward; the inviter's pages show it."""
    done = db.call(invites.review, invitee_id=invitee_id, approve=approve, reason=reason)
    announce_reward(done)
    return done


def announce_bound(relation: InviteRelation | None) -> None:
    """Tell the inviter's open pages someone signed up with their code."""
    if relation is None:
        return
    data: dict[str, object] = {"invitee_id": relation.invitee_id, "status": relation.status}
    events.publish(events.Event("invite", relation.inviter_id, data))


def announce_reward(reward: invites.Reward | None) -> None:
    """Tell the inviter's open pages their reward arrived (or is held): balance and status."""
    if reward is None:
        return
    data: dict[str, object] = {
        "invitee_id": reward.invitee_id,
        "status": reward.status,
        "credits": reward.credits,
    }
    if reward.balance is not None:
        data["balance"] = reward.balance
    events.publish(events.Event("invite", reward.inviter_id, data))
