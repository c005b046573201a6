"""Ledger history at chosen moments: the ledger's clock is pinned while each entry is written.

Entries cannot be changed once written (database triggers), so a test that
needs last week's usage writes it last week.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

from imgapp.core import db
from imgapp.services import ledger
from imgapp.services.ledger import moves, writes


@contextlib.contextmanager
def clock(moment: datetime) -> Iterator[None]:
    """The ledger writes its entries at `moment`."""
    saved = moves.utcnow, writes.utcnow
    moves.utcnow = writes.utcnow = lambda: moment  # type: ignore[assignment]
    try:
        yield
    finally:
        moves.utcnow, writes.utcnow = saved


def charge_at(
    user_id: int, at: datetime, credits: int, key: str, *, model="m1", size="512x512", n=1
) -> ledger.Movement:
    """A charge with its usage row (model, size, images)."""
    with clock(at):
        return db.call(
            ledger.charge,
            user_id=user_id,
            credits=credits,
            key=key,
            usage=ledger.Usage(model=model, size=size, image_count=n),
        )


def refund_at(user_id: int, at: datetime, charge_key: str, key: str, credits: int | None = None):
    with clock(at):
        return db.call(
            ledger.refund, user_id=user_id, charge_key=charge_key, key=key, credits=credits
        )


def credit_at(user_id: int, at: datetime, credits: int, key: str, kind=ledger.LedgerKind.RECHARGE):
    with clock(at):
        return db.call(ledger.credit, user_id=user_id, credits=credits, kind=kind, key=key)


def adjust_at(user_id: int, at: datetime, credits: int, key: str):
    with clock(at):
        return db.call(
            ledger.adjust, user_id=user_id, credits=credits, key=key, description="correction"
        )
