"""Invite codes: drawing one per user, reading one as typed, and telling mailboxes apart.

A code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L):
31^8 ≈ 8.5e11 codes, drawn with `secrets`.
"""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from imgapp.models import User
from imgapp.models.invites import INVITE_CODE_LENGTH
from imgapp.services.errors import ValidationFailed

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_GMAIL = {"gmail.com", "googlemail.com"}


def new_code() -> str:
    """A fresh random invite code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(INVITE_CODE_LENGTH))


def give_code(session: Session, *, user: User) -> str:
    """The user's code, drawing one (and retrying the rare collision) when they have none."""
    while user.invite_code is None:
        try:
            with session.begin_nested():
                user.invite_code = new_code()
                session.flush()
        except IntegrityError:  # taken by someone else: draw again
            user.invite_code = None
    return user.invite_code


def check_code(value: object) -> str:
    """A code as typed (case and surrounding spaces forgiven), or `ValidationFailed`."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) != INVITE_CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise ValidationFailed(
            "invite_code_invalid",
            f"An invite code is {INVITE_CODE_LENGTH} letters and digits, like 7KQ2MX9P.",
            field="invite_code",
        )
    return code


def normalized_email(email: str) -> str:
    """The mailbox behind an address: lower case, no `+tag`, no dots for Gmail."""
    local, _, domain = email.strip().lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def mask_email(email: str) -> str:
    """An invitee's address as the inviter sees it: the first letter and the domain."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
