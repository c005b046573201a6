"""Password policy and hashing (passlib, argon2); keyed hashes of the other secrets we issue."""

from __future__ import annotations

import hashlib
import hmac

from passlib.context import CryptContext

from imgapp.core.settings import get_settings
from imgapp.services.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

_context = CryptContext(schemes=["argon2"], deprecated="auto")

# Verified against when an email is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = _context.hash("imgapp-timing-equaliser")


def check_policy(password: str) -> None:
    """Raise `ValidationFailed` unless the password meets the stated policy."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            "password_too_short",
            f"Use at least {MIN_PASSWORD_LENGTH} characters for the password.",
            field="password",
            min=MIN_PASSWORD_LENGTH,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            "password_too_long",
            f"Use at most {MAX_PASSWORD_LENGTH} characters for the password.",
            field="password",
            max=MAX_PASSWORD_LENGTH,
        )
    if not password.strip():
        raise ValidationFailed(
            "password_blank",
            "The password cannot be only spaces.",
            field="password",
        )


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return _context.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; with no stored hash, spend the same time and fail."""
    if password_hash is None:
        _context.verify(password, _DUMMY_HASH)
        return False
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    return _context.verify(password, password_hash)


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _context.needs_update(password_hash)


def credential_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256(CREDENTIALS_SECRET, purpose:value): how API keys and recovery codes are stored.

    These secrets are long and random, so a fast keyed hash is enough (and lets
    the database find them by hash); `purpose` keeps one kind from matching another.
    """
    key = get_settings().credentials_secret.get_secret_value().encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
