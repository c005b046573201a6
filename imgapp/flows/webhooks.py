"""Task webhooks, the actions: claim due messages, record each try; the signing secret.

Claiming and recording are each one short transaction; the POSTs happen
between them, outside any transaction (worker/webhooks).
"""

from __future__ import annotations

from imgapp.core import db
from imgapp.models import DeliveryStatus
from imgapp.services import webhooks


def claim_due(*, limit: int) -> list[webhooks.Attempt]:
    """Lease up to `limit` due messages to this sender (no write transaction when none is due)."""
    if not db.call_read(webhooks.any_due):
        return []
    return db.call(webhooks.claim_due, limit=limit)


def record(*, delivery_id: int, status_code: int | None, error: str, final: bool) -> DeliveryStatus:
    """Record one try (delivered, next try, or failed for good)."""
    return db.call(
        webhooks.record_attempt,
        delivery_id=delivery_id,
        status_code=status_code,
        error=error,
        final=final,
    )


def secret(*, user_id: int) -> str:
    """The person's signing secret (made on first use)."""
    return db.call(webhooks.secret_of, user_id=user_id)


def rotate_secret(*, user_id: int, session_id: int, ip: str = "") -> str:
    """A new signing secret, after a recent re-authentication (`ReauthRequired` otherwise)."""
    return db.call(webhooks.rotate_secret, user_id=user_id, session_id=session_id, ip=ip)
