"""Codes for tests of two-factor sign-in (real pyotp codes, never a mocked check)."""

from __future__ import annotations

from datetime import timedelta

import pyotp

from imgapp.models.base import utcnow

STEP = timedelta(seconds=30)


def wrong_code(totp: pyotp.TOTP) -> str:
    """A 6-digit code that none of the steps near now has."""
    now = utcnow()
    taken = {totp.at(now + k * STEP) for k in (-2, -1, 0, 1, 2)}
    return next(str(d) * 6 for d in range(10) if str(d) * 6 not in taken)
