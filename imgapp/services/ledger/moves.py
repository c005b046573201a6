"""The money verbs: `open_account`, `charge`, `credit`, `adjust`, `refund` (and `prepare_charge`).

Each movement is written by `writes` and judged here: a debit the balance does
not cover raises `InsufficientCredits` and writes nothing; a key seen before
answers the first movement again (`replayed`), or `IdempotencyConflict` when
it was used for a different one.

The key is claimed *after* the balance row is locked by the UPDATE. If a
racing twin committed the same key first, the UPDATE is compensated while the
row lock is still held, and the twin's entry is returned: the same key never
moves money twice, and no savepoint is needed on the hot path. Everything runs
in the caller's transaction; a new movement is counted
(`imgapp_ledger_movements_total`) once that transaction commits.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import bindparam, func, literal, select
from sqlmodel import Session

from imgapp.core import metrics
from imgapp.core.db import InsertUnlessExists, after_commit
from imgapp.models.base import utcnow
from imgapp.models.billing import BillingAccount, LedgerEntry, LedgerKind
from imgapp.services.errors import (
    IdempotencyConflict,
    InsufficientCredits,
    NotFound,
    RefundExceedsCharge,
    ValidationFailed,
)
from imgapp.services.ledger.reads import balance, entry_by_key
from imgapp.services.ledger.values import (
    REFUND_REFERENCE,
    Movement,
    Reference,
    Usage,
    check_credits,
    check_key,
)
from imgapp.services.ledger.writes import (
    PreparedCharge,
    Write,
    shift_balance,
    write_at_once,
    write_stepwise,
)

# A refused debit is retried while a fresh read shows that credits arrived meanwhile.
_DEBIT_ATTEMPTS = 10

# Built once: constructing a statement costs several times more than running it.
_entries = LedgerEntry.__table__.c  # type: ignore[attr-defined]
_OPEN_ACCOUNT = InsertUnlessExists(
    BillingAccount.__table__,  # type: ignore[arg-type]
    unique="user_id",
    returning=["user_id"],
)
_REFUNDED = select(func.coalesce(func.sum(_entries.amount), 0)).where(
    _entries.reference_type == bindparam("rtype"),
    _entries.reference_id == bindparam("rid"),
    # Inlined, so PostgreSQL matches the partial index on refunds.
    _entries.kind == literal(LedgerKind.REFUND.value, literal_execute=True),
)


def open_account(session: Session, *, user_id: int) -> None:
    """Give a user their billing account (balance 0); a no-op if they have one."""
    now = utcnow()
    _OPEN_ACCOUNT(session, {"user_id": user_id, "balance": 0, "created_at": now, "updated_at": now})


def _movement(row: Any, *, replayed: bool) -> Movement:
    return Movement(
        entry_id=int(row.id),
        user_id=int(row.user_id),
        amount=int(row.amount),
        balance_after=int(row.balance_after),
        kind=LedgerKind(row.kind),
        idempotency_key=row.idempotency_key,
        created_at=row.created_at,
        replayed=replayed,
    )


def _replay(session: Session, key: str, *, user_id: int, amount: int, kind: LedgerKind) -> Movement:
    entry = entry_by_key(session, key)
    if entry is None:
        msg = f"idempotency key {key!r} vanished while replaying"
        raise RuntimeError(msg)
    if (entry.user_id, entry.amount, entry.kind) != (user_id, amount, kind.value):
        raise IdempotencyConflict
    return _movement(entry, replayed=True)


def _move(
    session: Session,
    *,
    user_id: int,
    amount: int,
    kind: LedgerKind,
    key: str,
    reference: Reference,
    description: str,
    usage: Usage | None = None,
    actor: str = "user",
) -> Movement:
    w = Write(
        user_id=user_id,
        amount=amount,
        kind=kind,
        key=check_key(key),
        reference=reference,
        description=description,
        usage=usage,
        actor=actor,
        now=utcnow(),
    )
    write = write_at_once if session.get_bind().dialect.name == "postgresql" else write_stepwise
    for _ in range(_DEBIT_ATTEMPTS):
        new_balance, entry_id = write(session, w)
        if new_balance is not None:
            break
        # Not covered, or no account. A retry of a charge that succeeded earlier
        # is still a replay, whatever the balance is now.
        if entry_by_key(session, w.key) is not None:
            return _replay(session, w.key, user_id=user_id, amount=amount, kind=kind)
        current = balance(session, user_id=user_id)  # NotFound: no account
        if current < -amount:
            raise InsufficientCredits(balance=current, needed=-amount)
        # Credits arrived (committed) between the UPDATE and this read: try again.
    else:
        raise InsufficientCredits(balance=current, needed=-amount)
    if entry_id is None:  # the key was used first by someone else: undo, then replay
        shift_balance(session, user_id=user_id, amount=-amount)
        return _replay(session, w.key, user_id=user_id, amount=amount, kind=kind)
    after_commit(session, partial(metrics.record_ledger_movement, kind.value))
    return w.moved(entry_id=entry_id, balance_after=new_balance)


def charge(
    session: Session,
    *,
    user_id: int,
    credits: int,
    key: str,
    usage: Usage | None = None,
    reference: Reference | None = None,
    description: str = "",
) -> Movement:
    """Take `credits` if the balance covers them; `InsufficientCredits` writes nothing."""
    return _move(
        session,
        user_id=user_id,
        amount=-check_credits(credits),
        kind=LedgerKind.CHARGE,
        key=key,
        reference=reference or Reference(),
        description=description,
        usage=usage,
    )


def prepare_charge(
    *,
    user_id: int,
    credits: int,
    key: str,
    usage: Usage | None = None,
    reference: Reference | None = None,
    description: str = "",
) -> PreparedCharge:
    """`charge` as one statement to run as a transaction of its own (PostgreSQL).

    Checks the arguments as `charge` does. The statement does what `charge`
    does when the balance covers the charge and the key is new; it writes
    nothing in any other case, which `charge` in a Session then answers.
    """
    return PreparedCharge(
        Write(
            user_id=user_id,
            amount=-check_credits(credits),
            kind=LedgerKind.CHARGE,
            key=check_key(key),
            reference=reference or Reference(),
            description=description,
            usage=usage,
            actor="user",
            now=utcnow(),
        )
    )


def credit(
    session: Session,
    *,
    user_id: int,
    credits: int,
    kind: LedgerKind,
    key: str,
    reference: Reference | None = None,
    description: str = "",
    actor: str = "system",
) -> Movement:
    """Add credits: a recharge, a reward or a positive adjustment."""
    if kind not in {LedgerKind.RECHARGE, LedgerKind.REWARD, LedgerKind.ADJUSTMENT}:
        msg = f"credit() cannot record a {kind.value}"
        raise ValueError(msg)
    return _move(
        session,
        user_id=user_id,
        amount=check_credits(credits),
        kind=kind,
        key=key,
        reference=reference or Reference(),
        description=description,
        actor=actor,
    )


def adjust(session: Session, *, user_id: int, credits: int, key: str, description: str) -> Movement:
    """An operator's correction, up or down (a debit still cannot go below zero)."""
    if credits == 0:
        raise ValidationFailed("adjustment_zero", "An adjustment must not be zero.")
    check_credits(abs(credits) if isinstance(credits, int) else credits, field="credits")
    return _move(
        session,
        user_id=user_id,
        amount=credits,
        kind=LedgerKind.ADJUSTMENT,
        key=key,
        reference=Reference("operator", ""),
        description=description,
        actor="operator",
    )


def refund(
    session: Session,
    *,
    user_id: int,
    charge_key: str,
    key: str,
    credits: int | None = None,
    description: str = "",
) -> Movement:
    """Give back (part of) a charge. All refunds of one charge never exceed it."""
    original = entry_by_key(session, charge_key)
    if original is None or original.user_id != user_id or original.kind != LedgerKind.CHARGE:
        raise NotFound
    if (earlier := entry_by_key(session, check_key(key))) is not None:
        expected = earlier.amount if credits is None else check_credits(credits)
        return _replay(session, key, user_id=user_id, amount=expected, kind=LedgerKind.REFUND)
    reference = Reference(REFUND_REFERENCE, str(original.id))
    remaining = -original.amount - _refunded(session, reference)
    amount = remaining if credits is None else check_credits(credits)
    if amount <= 0 or amount > remaining:
        raise RefundExceedsCharge
    movement = _move(
        session,
        user_id=user_id,
        amount=amount,
        kind=LedgerKind.REFUND,
        key=key,
        reference=reference,
        description=description,
    )
    if movement.replayed:
        return movement
    # Counted again now that the UPDATE holds this account's row lock: a
    # concurrent refund of the same charge has committed or is waiting behind us.
    if _refunded(session, reference) > -original.amount:
        raise RefundExceedsCharge
    return movement


def _refunded(session: Session, reference: Reference) -> int:
    total = session.execute(_REFUNDED, {"rtype": reference.type, "rid": reference.id}).scalar_one()
    return int(total)
