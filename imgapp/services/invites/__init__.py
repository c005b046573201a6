"""Invitations: codes, binding an invitee to an inviter, the inviter's reward, what they see.

`codes` (draw, read, normalise), `binding` (the rules), `rewards` (due at the
first recharge, holds, review, the manual grant), `overview` (code, invitees,
sums). Callers use the names below: `invites.bind`, `invites.on_first_recharge`, …
"""

from imgapp.services.invites.binding import (
    BINDING_WINDOW,
    SAME_EMAIL,
    AlreadyInvited,
    bind,
    bind_deadline,
    inviter_of,
    welcome_key,
)
from imgapp.services.invites.codes import (
    ALPHABET,
    check_code,
    give_code,
    mask_email,
    new_code,
    normalized_email,
)
from imgapp.services.invites.overview import Invitee, Overview, overview
from imgapp.services.invites.rewards import (
    HoldReason,
    Reward,
    grant_now,
    on_first_recharge,
    review,
    reward_key,
)

__all__ = [
    "ALPHABET",
    "BINDING_WINDOW",
    "SAME_EMAIL",
    "AlreadyInvited",
    "HoldReason",
    "Invitee",
    "Overview",
    "Reward",
    "bind",
    "bind_deadline",
    "check_code",
    "give_code",
    "grant_now",
    "inviter_of",
    "mask_email",
    "new_code",
    "normalized_email",
    "on_first_recharge",
    "overview",
    "review",
    "reward_key",
    "welcome_key",
]
