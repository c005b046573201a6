"""How one movement is written: the prepared SQL and the two ways of running it.

A movement writes three things: the balance (a conditional `UPDATE ...
RETURNING balance`), the immutable `ledger_entries` row that claims the
idempotency key (a charge's entry also says what it paid for: task, model,
size, images), and an audit row. `write_stepwise` runs them as three
statements (SQLite); `write_at_once` runs them as one (PostgreSQL, the
ledger's hot path). Both answer (balance or None, entry id or None): no
balance means the debit was not covered or there is no account, no entry id
means the key was already taken. Deciding what such an answer means is
`moves`' business, not this module's.

`PreparedCharge` is the one-statement write as a transaction of its own, for
a caller that commits (`imgapp.flows.billing.charge`); this package never runs
it, so it never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text, update
from sqlmodel import Session

from imgapp.core.db import DriverStatement, InsertUnlessExists
from imgapp.models.base import utcnow
from imgapp.models.billing import BillingAccount, LedgerEntry, LedgerKind
from imgapp.services import audit
from imgapp.services.audit import Action
from imgapp.services.ledger.values import Movement, Reference, Usage

ACTION_FOR_KIND = {
    LedgerKind.CHARGE: Action.CREDITS_CHARGED,
    LedgerKind.RECHARGE: Action.CREDITS_RECHARGED,
    LedgerKind.REFUND: Action.CREDITS_REFUNDED,
    LedgerKind.REWARD: Action.CREDITS_REWARDED,
    LedgerKind.ADJUSTMENT: Action.CREDITS_ADJUSTED,
}

# Built once: constructing a statement costs several times more than running it.
_accounts = BillingAccount.__table__.c  # type: ignore[attr-defined]
_CREDIT = (
    update(BillingAccount.__table__)  # type: ignore[arg-type]
    .where(_accounts.user_id == bindparam("uid"))
    .values(balance=_accounts.balance + bindparam("delta"), updated_at=bindparam("now"))
    .returning(_accounts.balance)
)
_DEBIT = _CREDIT.where(_accounts.balance >= bindparam("need"))
_INSERT_ENTRY = InsertUnlessExists(
    LedgerEntry.__table__,  # type: ignore[arg-type]
    unique="idempotency_key",
    returning=["id"],
)


@dataclass(frozen=True)
class Write:
    """Everything one movement writes, in the shape both write paths take."""

    user_id: int
    amount: int
    kind: LedgerKind
    key: str
    reference: Reference
    description: str
    usage: Usage | None
    actor: str
    now: datetime

    def moved(self, *, entry_id: int, balance_after: int) -> Movement:
        """The movement this write made (a new one, not a replay)."""
        return Movement(
            entry_id=entry_id,
            user_id=self.user_id,
            amount=self.amount,
            balance_after=balance_after,
            kind=self.kind,
            idempotency_key=self.key,
            created_at=self.now,
            replayed=False,
        )

    @property
    def audit_target(self) -> str:
        """What the audit row names: the reference if there is one, else the key."""
        return f"{self.reference.type}:{self.reference.id}" if self.reference.type else self.key


def shift_balance(session: Session, *, user_id: int, amount: int) -> int | None:
    """Add `amount` (negative = debit); None when the debit is not covered."""
    params = {"uid": user_id, "delta": amount, "now": utcnow()}
    if amount < 0:
        value = session.execute(_DEBIT, {**params, "need": -amount}).scalar_one_or_none()
    else:
        value = session.execute(_CREDIT, params).scalar_one_or_none()
    return None if value is None else int(value)


def write_stepwise(session: Session, w: Write) -> tuple[int | None, int | None]:
    """Debit/credit, then entry and audit: (balance or None, entry id or None)."""
    new_balance = shift_balance(session, user_id=w.user_id, amount=w.amount)
    if new_balance is None:
        return None, None
    usage = w.usage or Usage()
    row = _INSERT_ENTRY(
        session,
        {
            "user_id": w.user_id,
            "amount": w.amount,
            "balance_after": new_balance,
            "kind": w.kind.value,
            "reference_type": w.reference.type[:32],
            "reference_id": w.reference.id[:64],
            "idempotency_key": w.key,
            "description": w.description[:255],
            "created_at": w.now,
            "task_id": usage.task_id,
            "model": usage.model[:64],
            "size": usage.size[:16],
            "image_count": usage.image_count,
        },
    )
    if row is None:
        return new_balance, None
    entry_id = int(row.id)
    audit.record(
        session,
        action=ACTION_FOR_KIND[w.kind],
        actor_user_id=w.user_id,
        target=w.audit_target,
        details={
            "entry_id": entry_id,
            "amount": w.amount,
            "balance_after": new_balance,
            "idempotency_key": w.key,
            "by": w.actor,
        },
    )
    return new_balance, entry_id


# PostgreSQL does the same three writes as `write_stepwise` in one statement
# (one round trip instead of three; the ledger's hot path). Each later step
# reads the row the step before returned, so a refused debit or a taken key
# writes nothing further. Tests run both paths: SQLite takes the stepwise one.
_WRITE_TEMPLATE = """
WITH moved AS (
    UPDATE billing_accounts SET balance = balance + :delta, updated_at = :now
    WHERE user_id = :uid AND balance + :delta >= 0
    RETURNING balance
), entry AS (
    INSERT INTO ledger_entries (user_id, amount, balance_after, kind, reference_type,
                                reference_id, idempotency_key, description, created_at,
                                task_id, model, size, image_count)
    SELECT :uid, :delta, moved.balance, :kind, :rtype, :rid, :key, :descr, :now,
           CAST(:task_id AS integer), :model, :size, :image_count
    FROM moved
{on_conflict}    RETURNING id, balance_after
), audited AS (
    INSERT INTO audit_logs (actor_user_id, action, target, ip, details, created_at)
    SELECT :uid, :action, :target, '',
           json_build_object('entry_id', entry.id, 'amount', CAST(:delta AS bigint),
                             'balance_after', entry.balance_after,
                             'idempotency_key', CAST(:key AS text), 'by', CAST(:actor AS text)),
           :now
    FROM entry
)
SELECT (SELECT balance FROM moved) AS balance, (SELECT id FROM entry) AS entry_id
"""
_WRITE_AT_ONCE = DriverStatement(
    text(_WRITE_TEMPLATE.format(on_conflict="    ON CONFLICT (idempotency_key) DO NOTHING\n"))
)
# The same as a transaction of its own (`PreparedCharge`): a key already taken
# makes the INSERT fail, which undoes the whole statement, debit included.
_WRITE_ALONE = DriverStatement(text(_WRITE_TEMPLATE.format(on_conflict="")))


def _at_once_params(w: Write) -> dict[str, Any]:
    usage = w.usage or Usage()
    return {
        "uid": w.user_id,
        "delta": w.amount,
        "now": w.now,
        "kind": w.kind.value,
        "rtype": w.reference.type[:32],
        "rid": w.reference.id[:64],
        "key": w.key,
        "descr": w.description[:255],
        "task_id": usage.task_id,
        "model": usage.model[:64],
        "size": usage.size[:16],
        "image_count": usage.image_count,
        "action": ACTION_FOR_KIND[w.kind].value,
        "target": w.audit_target[:255],
        "actor": w.actor,
    }


def _outcome(row: tuple[Any, ...] | None) -> tuple[int | None, int | None]:
    balance_now, entry_id = row if row is not None else (None, None)
    return (
        None if balance_now is None else int(balance_now),
        None if entry_id is None else int(entry_id),
    )


def write_at_once(session: Session, w: Write) -> tuple[int | None, int | None]:
    """All three writes in one statement, in the session's transaction (PostgreSQL)."""
    return _outcome(_WRITE_AT_ONCE.first(session, _at_once_params(w)))


class PreparedCharge:
    """A charge as one statement that is a transaction of its own (PostgreSQL).

    Run `statement` with `params` alone (autocommitted, `db.run_alone`): one
    round trip, all three writes or none. `movement(row)` is the charge that
    row reports, or None when the statement wrote nothing (not covered, no
    account; pass None when it was refused because the key was taken). Any
    such outcome is for `charge` in a Session to answer.
    """

    __slots__ = ("_write", "params", "statement")

    def __init__(self, w: Write) -> None:
        """Prepare the statement's parameters for the charge `w`."""
        self._write = w
        self.statement = _WRITE_ALONE
        self.params = _at_once_params(w)

    def movement(self, row: tuple[Any, ...] | None) -> Movement | None:
        """The charge the statement made, or None when it wrote nothing."""
        new_balance, entry_id = _outcome(row)
        if new_balance is None or entry_id is None:
            return None
        return self._write.moved(entry_id=entry_id, balance_after=new_balance)
