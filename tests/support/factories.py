"""Make users the way the product does (through the services)."""

from __future__ import annotations

import itertools

from sqlmodel import func, select

from imgapp.core import db
from imgapp.models import User
from imgapp.services import accounts, ledger

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    """A fresh address for each call."""
    return f"{prefix}{next(_seq)}@example.com"


def create_user(email: str | None = None, password: str = PASSWORD) -> tuple[User, str]:
    """Register a user; returns the user and a session token."""
    account = accounts.prepare_registration(email=email or unique_email(), password=password)
    return db.call(accounts.register, account=account, ip="127.0.0.1", user_agent="pytest")


def funded_user(credits: int, email: str | None = None) -> User:
    """A user whose balance starts at `credits` (granted as an adjustment)."""
    user, _ = create_user(email=email)
    if credits:
        db.call(
            ledger.adjust,
            user_id=user.id,
            credits=credits,
            key=f"test-grant:{user.id}",
            description="test grant",
        )
    return user


def balance_of(user_id: int) -> int:
    """The user's balance as the ledger says."""
    return db.call_read(ledger.balance, user_id=user_id)


def count_rows(model: type) -> int:
    """How many rows a table holds."""
    with db.read() as session:
        return session.exec(select(func.count()).select_from(model)).one()
