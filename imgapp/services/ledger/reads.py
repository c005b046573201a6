"""What an account holds and did: balance, the entry a key made, statement, usage, refunds, summary.

Reads only: nothing here writes, so any of it runs in a read-only transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, literal, select
from sqlmodel import Session, col

from imgapp.models.base import require_id
from imgapp.models.billing import BillingAccount, LedgerEntry, LedgerKind
from imgapp.services.errors import NotFound
from imgapp.services.ledger.values import REFUND_REFERENCE

# Built once: constructing a statement costs several times more than running it.
_accounts = BillingAccount.__table__.c  # type: ignore[attr-defined]
_BALANCE = select(_accounts.balance).where(_accounts.user_id == bindparam("uid"))
_ENTRY_BY_KEY = select(LedgerEntry).where(col(LedgerEntry.idempotency_key) == bindparam("key"))


def balance(session: Session, *, user_id: int) -> int:
    """The account's balance; `NotFound` when the user has no account."""
    value = session.execute(_BALANCE, {"uid": user_id}).scalar_one_or_none()
    if value is None:
        raise NotFound
    return int(value)


def entry_by_key(session: Session, key: str) -> LedgerEntry | None:
    """The entry an idempotency key produced, if any."""
    return session.execute(_ENTRY_BY_KEY, {"key": key}).scalar_one_or_none()


def statement(
    session: Session,
    *,
    user_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
) -> list[LedgerEntry]:
    """The account's entries in [start, end), newest first."""
    query = select(LedgerEntry).where(col(LedgerEntry.user_id) == user_id)
    if start is not None:
        query = query.where(col(LedgerEntry.created_at) >= start)
    if end is not None:
        query = query.where(col(LedgerEntry.created_at) < end)
    query = query.order_by(col(LedgerEntry.id).desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars().all())


def recent_usage(session: Session, *, user_id: int, limit: int = 10) -> list[LedgerEntry]:
    """The latest charges (each entry says what it paid for), newest first."""
    query = (
        select(LedgerEntry)
        .where(
            col(LedgerEntry.user_id) == user_id,
            col(LedgerEntry.kind) == LedgerKind.CHARGE.value,
        )
        .order_by(col(LedgerEntry.id).desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars().all())


def refunded_charges(session: Session, *, user_id: int, entry_ids: list[int]) -> dict[int, int]:
    """Credits given back so far for each of these charge entries (those with refunds only)."""
    if not entry_ids:
        return {}
    reference_id = col(LedgerEntry.reference_id)
    found = session.execute(
        select(reference_id, func.sum(col(LedgerEntry.amount)))
        .where(
            col(LedgerEntry.user_id) == user_id,
            # Inlined, so PostgreSQL matches the partial index on refunds.
            col(LedgerEntry.kind) == literal(LedgerKind.REFUND.value, literal_execute=True),
            col(LedgerEntry.reference_type) == REFUND_REFERENCE,
            reference_id.in_([str(i) for i in entry_ids]),
        )
        .group_by(reference_id)
    ).all()
    return {int(charge): int(total) for charge, total in found}


@dataclass(frozen=True)
class Summary:
    """An account at a glance: balance, latest usage and latest movements."""

    balance: int
    usage: list[LedgerEntry]  # the latest charges
    entries: list[LedgerEntry]
    refunds: dict[int, int]  # id of a charge in `usage` -> credits refunded


def summary(session: Session, *, user_id: int, limit: int = 10) -> Summary:
    """The balance with the `limit` latest charges (and their refunds) and ledger entries."""
    used = recent_usage(session, user_id=user_id, limit=limit)
    return Summary(
        balance=balance(session, user_id=user_id),
        usage=used,
        entries=statement(session, user_id=user_id, limit=limit),
        refunds=refunded_charges(
            session, user_id=user_id, entry_ids=[require_id(u.id) for u in used]
        ),
    )
