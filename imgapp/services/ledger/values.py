"""What the ledger takes and answers: checked amounts and keys, `Usage`, `Reference`, `Movement`.

Pure values: nothing here touches the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from imgapp.models.billing import IDEMPOTENCY_KEY_MAX_LENGTH, LedgerKind
from imgapp.services.errors import ValidationFailed

# Far above any real purchase, far below 2**63: sums over an account cannot overflow.
MAX_MOVEMENT = 10**12
REFUND_REFERENCE = "ledger_entry"  # a refund refers to the charge entry it gives back


@dataclass(frozen=True)
class Usage:
    """What a charge paid for (written on its ledger entry)."""

    task_id: int | None = None
    model: str = ""
    size: str = ""
    image_count: int = 0


@dataclass(frozen=True)
class Reference:
    """What a movement concerns: a task, a payment order, an invite."""

    type: str = ""
    id: str = ""


@dataclass(frozen=True)
class Movement:
    """The outcome of a balance movement. `replayed` means the key was seen before."""

    entry_id: int
    user_id: int
    amount: int
    balance_after: int
    kind: LedgerKind
    idempotency_key: str
    created_at: datetime
    replayed: bool


def check_credits(credits: object, *, field: str = "amount") -> int:
    """A positive whole number of credits, or `ValidationFailed` naming the problem."""
    if isinstance(credits, bool) or not isinstance(credits, int):
        got = json.dumps(credits) if isinstance(credits, str | float | bool | None) else "?"
        raise ValidationFailed(
            "amount_not_integer",
            f"`{field}` must be a whole number (a JSON integer), not {got}.",
            field=field,
            name=field,
            got=got,
        )
    if credits <= 0:
        raise ValidationFailed(
            "amount_not_positive",
            f"`{field}` must be greater than zero.",
            field=field,
            name=field,
        )
    if credits > MAX_MOVEMENT:
        raise ValidationFailed(
            "amount_too_large",
            f"`{field}` must be at most {MAX_MOVEMENT}.",
            field=field,
            name=field,
            max=MAX_MOVEMENT,
        )
    return credits


def check_key(key: object) -> str:
    """A usable idempotency key: a non-empty string of at most 128 characters."""
    if not isinstance(key, str) or not key.strip():
        raise ValidationFailed(
            "idempotency_key_required",
            "`idempotency_key` must be a non-empty string.",
            field="idempotency_key",
        )
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationFailed(
            "idempotency_key_too_long",
            f"`idempotency_key` must be at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
            field="idempotency_key",
            max=IDEMPOTENCY_KEY_MAX_LENGTH,
        )
    return key
