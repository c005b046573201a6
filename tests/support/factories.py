"""Make users the way the product does (through the services)."""

from __future__ import annotations

import itertools

from imgapp import db
from imgapp.models import User
from imgapp.services import accounts

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    """A fresh address for each call."""
    return f"{prefix}{next(_seq)}@example.com"


def create_user(email: str | None = None, password: str = PASSWORD) -> tuple[User, str]:
    """Register a user; returns the user and a session token."""
    account = accounts.prepare_registration(email=email or unique_email(), password=password)
    return db.call(accounts.register, account=account, ip="127.0.0.1", user_agent="pytest")
