"""Credit ledger: the only code that moves a balance.

Every movement is one conditional `UPDATE billing_accounts ... RETURNING
balance` (a debit only matches while the balance covers it, so two racing
charges can never overspend) plus one immutable `ledger_entries` row whose
UNIQUE `idempotency_key` makes a retry return the first result.

The key is claimed with `INSERT ... ON CONFLICT DO NOTHING` *after* the balance
row is locked by the UPDATE. If a racing twin committed the same key first,
the UPDATE is compensated while the row lock is still held, and the twin's
entry is returned: the same key never moves money twice, and no savepoint is
needed on the hot path. Everything runs in the caller's transaction.

Invariant (`check_invariants`): for every account, balance == sum(amounts),
no balance is negative, and each entry's `balance_after` is the running sum.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, literal, select, text, update
from sqlmodel import Session, col

from imgapp.core import db
from imgapp.core.db import DriverStatement, InsertUnlessExists
from imgapp.models.base import utcnow
from imgapp.models.billing import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    BillingAccount,
    LedgerEntry,
    LedgerKind,
    UsageLog,
)
from imgapp.services import audit
from imgapp.services.audit import Action
from imgapp.services.errors import (
    IdempotencyConflict,
    InsufficientCredits,
    NotFound,
    RefundExceedsCharge,
    ValidationFailed,
)

# Far above any real purchase, far below 2**63: sums over an account cannot overflow.
MAX_MOVEMENT = 10**12
_REFERENCE_ENTRY = "ledger_entry"
# A refused debit is retried while a fresh read shows that credits arrived meanwhile.
_DEBIT_ATTEMPTS = 10

_ACTION_FOR_KIND = {
    LedgerKind.CHARGE: Action.CREDITS_CHARGED,
    LedgerKind.RECHARGE: Action.CREDITS_RECHARGED,
    LedgerKind.REFUND: Action.CREDITS_REFUNDED,
    LedgerKind.REWARD: Action.CREDITS_REWARDED,
    LedgerKind.ADJUSTMENT: Action.CREDITS_ADJUSTED,
}


# Built once: constructing a statement costs several times more than running it.
_accounts = BillingAccount.__table__.c  # type: ignore[attr-defined]
_entries = LedgerEntry.__table__.c  # type: ignore[attr-defined]
_CREDIT = (
    update(BillingAccount.__table__)  # type: ignore[arg-type]
    .where(_accounts.user_id == bindparam("uid"))
    .values(balance=_accounts.balance + bindparam("delta"), updated_at=bindparam("now"))
    .returning(_accounts.balance)
)
_DEBIT = _CREDIT.where(_accounts.balance >= bindparam("need"))
_BALANCE = select(_accounts.balance).where(_accounts.user_id == bindparam("uid"))
_ENTRY_BY_KEY = select(LedgerEntry).where(col(LedgerEntry.idempotency_key) == bindparam("key"))
_INSERT_ENTRY = InsertUnlessExists(
    LedgerEntry.__table__,  # type: ignore[arg-type]
    unique="idempotency_key",
    returning=["id"],
)
_OPEN_ACCOUNT = InsertUnlessExists(
    BillingAccount.__table__,  # type: ignore[arg-type]
    unique="user_id",
    returning=["user_id"],
)
_INSERT_USAGE = insert(UsageLog.__table__)  # type: ignore[arg-type]
_REFUNDED = select(func.coalesce(func.sum(_entries.amount), 0)).where(
    _entries.reference_type == bindparam("rtype"),
    _entries.reference_id == bindparam("rid"),
    # Inlined, so PostgreSQL matches the partial index on refunds.
    _entries.kind == literal(LedgerKind.REFUND.value, literal_execute=True),
)


@dataclass(frozen=True)
class Usage:
    """What a charge paid for (written to `usage_logs`)."""

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


def open_account(session: Session, *, user_id: int) -> None:
    """Give a user their billing account (balance 0); a no-op if they have one."""
    now = utcnow()
    _OPEN_ACCOUNT(session, {"user_id": user_id, "balance": 0, "created_at": now, "updated_at": now})


def balance(session: Session, *, user_id: int) -> int:
    """The account's balance; `NotFound` when the user has no account."""
    value = session.execute(_BALANCE, {"uid": user_id}).scalar_one_or_none()
    if value is None:
        raise NotFound
    return int(value)


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


def entry_by_key(session: Session, key: str) -> LedgerEntry | None:
    """The entry an idempotency key produced, if any."""
    return session.execute(_ENTRY_BY_KEY, {"key": key}).scalar_one_or_none()


def _replay(session: Session, key: str, *, user_id: int, amount: int, kind: LedgerKind) -> Movement:
    entry = entry_by_key(session, key)
    if entry is None:
        msg = f"idempotency key {key!r} vanished while replaying"
        raise RuntimeError(msg)
    if (entry.user_id, entry.amount, entry.kind) != (user_id, amount, kind.value):
        raise IdempotencyConflict
    return _movement(entry, replayed=True)


def _shift_balance(session: Session, *, user_id: int, amount: int) -> int | None:
    """Add `amount` (negative = debit); None when the debit is not covered."""
    params = {"uid": user_id, "delta": amount, "now": utcnow()}
    if amount < 0:
        value = session.execute(_DEBIT, {**params, "need": -amount}).scalar_one_or_none()
    else:
        value = session.execute(_CREDIT, params).scalar_one_or_none()
    return None if value is None else int(value)


@dataclass(frozen=True)
class _Write:
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
        return f"{self.reference.type}:{self.reference.id}" if self.reference.type else self.key


def _write_stepwise(session: Session, w: _Write) -> tuple[int | None, int | None]:
    """Debit/credit, then entry, usage and audit: (balance or None, entry id or None)."""
    new_balance = _shift_balance(session, user_id=w.user_id, amount=w.amount)
    if new_balance is None:
        return None, None
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
        },
    )
    if row is None:
        return new_balance, None
    entry_id = int(row.id)
    if w.usage is not None:
        session.execute(
            _INSERT_USAGE,
            {
                "user_id": w.user_id,
                "ledger_entry_id": entry_id,
                "task_id": w.usage.task_id,
                "model": w.usage.model[:64],
                "size": w.usage.size[:16],
                "image_count": w.usage.image_count,
                "credits": -w.amount,
                "description": w.description[:255],
                "created_at": w.now,
            },
        )
    audit.record(
        session,
        action=_ACTION_FOR_KIND[w.kind],
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


# PostgreSQL does the same four writes as `_write_stepwise` in one statement
# (one round trip instead of four; the ledger's hot path). Each later step
# reads the row the step before returned, so a refused debit or a taken key
# writes nothing further. Tests run both paths: SQLite takes the stepwise one.
_WRITE_TEMPLATE = """
WITH moved AS (
    UPDATE billing_accounts SET balance = balance + :delta, updated_at = :now
    WHERE user_id = :uid AND balance + :delta >= 0
    RETURNING balance
), entry AS (
    INSERT INTO ledger_entries (user_id, amount, balance_after, kind, reference_type,
                                reference_id, idempotency_key, description, created_at)
    SELECT :uid, :delta, moved.balance, :kind, :rtype, :rid, :key, :descr, :now FROM moved
{on_conflict}    RETURNING id, balance_after
), used AS (
    INSERT INTO usage_logs (user_id, ledger_entry_id, task_id, model, size, image_count,
                            credits, description, created_at)
    SELECT :uid, entry.id, CAST(:task_id AS integer), :model, :size, :image_count,
           -CAST(:delta AS bigint), :descr, :now
    FROM entry WHERE CAST(:with_usage AS boolean)
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
# The same as a transaction of its own (`charge_committed`): a key already taken
# makes the INSERT fail, which undoes the whole statement, debit included.
_WRITE_ALONE = DriverStatement(text(_WRITE_TEMPLATE.format(on_conflict="")))


def _at_once_params(w: _Write) -> dict[str, Any]:
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
        "with_usage": w.usage is not None,
        "action": _ACTION_FOR_KIND[w.kind].value,
        "target": w.audit_target[:255],
        "actor": w.actor,
    }


def _outcome(row: tuple[Any, ...] | None) -> tuple[int | None, int | None]:
    balance_now, entry_id = row if row is not None else (None, None)
    return (
        None if balance_now is None else int(balance_now),
        None if entry_id is None else int(entry_id),
    )


def _write_at_once(session: Session, w: _Write) -> tuple[int | None, int | None]:
    return _outcome(_WRITE_AT_ONCE.first(session, _at_once_params(w)))


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
    w = _Write(
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
    write = _write_at_once if session.get_bind().dialect.name == "postgresql" else _write_stepwise
    for _ in range(_DEBIT_ATTEMPTS):
        new_balance, entry_id = write(session, w)
        if new_balance is not None:
            break
        # Not covered, or no account. A retry of a charge that succeeded earlier
        # is still a replay, whatever the balance is now.
        if entry_by_key(session, w.key) is not None:
            return _replay(session, w.key, user_id=user_id, amount=amount, kind=kind)
        current = session.execute(_BALANCE, {"uid": user_id}).scalar_one_or_none()
        if current is None:
            raise NotFound
        if current < -amount:
            raise InsufficientCredits(balance=int(current), needed=-amount)
        # Credits arrived (committed) between the UPDATE and this read: try again.
    else:
        raise InsufficientCredits(balance=int(current), needed=-amount)
    if entry_id is None:  # the key was used first by someone else: undo, then replay
        _shift_balance(session, user_id=user_id, amount=-amount)
        return _replay(session, w.key, user_id=user_id, amount=amount, kind=kind)
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


def charge_committed(
    *,
    user_id: int,
    credits: int,
    key: str,
    usage: Usage | None = None,
    reference: Reference | None = None,
    description: str = "",
) -> Movement:
    """`charge` in a transaction of its own, committed when it returns.

    On PostgreSQL the common outcome (covered, new key) is one autocommitted
    statement on a pooled driver connection: one round trip, no Session. Any
    other outcome (a replay, a refusal, a key race, no account) has written
    nothing and goes to `charge` in a Session, which knows how to answer it.
    The money rules are the same either way.
    """
    w = _Write(
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
    if db.get_engine().dialect.name == "postgresql":
        try:
            new_balance, entry_id = _outcome(db.run_alone(_WRITE_ALONE, _at_once_params(w)))
        except db.StatementRefused:  # the key was taken: nothing moved
            new_balance, entry_id = None, None
        if new_balance is not None and entry_id is not None:
            return w.moved(entry_id=entry_id, balance_after=new_balance)
    return db.call(
        charge,
        user_id=user_id,
        credits=credits,
        key=key,
        usage=usage,
        reference=reference,
        description=description,
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
    reference = Reference(_REFERENCE_ENTRY, str(original.id))
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


def recent_usage(session: Session, *, user_id: int, limit: int = 10) -> list[UsageLog]:
    """The latest usage rows, newest first."""
    query = (
        select(UsageLog)
        .where(col(UsageLog.user_id) == user_id)
        .order_by(col(UsageLog.id).desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars().all())


@dataclass(frozen=True)
class Violation:
    """One broken invariant."""

    user_id: int
    problem: str

    def __str__(self) -> str:
        """Readable form for the operator command."""
        return f"user {self.user_id}: {self.problem}"


def check_invariants(session: Session) -> list[Violation]:
    """Every account: balance == sum(entries) >= 0, and every balance_after is the running sum."""
    violations: list[Violation] = []
    totals = session.execute(
        text(
            "SELECT a.user_id, a.balance, COALESCE(SUM(e.amount), 0) AS total"
            " FROM billing_accounts a LEFT JOIN ledger_entries e ON e.user_id = a.user_id"
            " GROUP BY a.user_id, a.balance"
            " HAVING a.balance <> COALESCE(SUM(e.amount), 0) OR a.balance < 0"
        )
    ).all()
    violations += [
        Violation(int(r.user_id), f"balance {r.balance} but entries sum to {r.total}")
        for r in totals
    ]
    orphans = session.execute(
        text(
            "SELECT DISTINCT e.user_id FROM ledger_entries e"
            " LEFT JOIN billing_accounts a ON a.user_id = e.user_id WHERE a.user_id IS NULL"
        )
    ).all()
    violations += [Violation(int(r.user_id), "ledger entries without an account") for r in orphans]
    running = (
        select(
            col(LedgerEntry.id),
            col(LedgerEntry.user_id),
            col(LedgerEntry.balance_after),
            func.sum(LedgerEntry.amount)
            .over(partition_by=LedgerEntry.user_id, order_by=LedgerEntry.id)
            .label("running"),
        )
    ).subquery()
    broken = session.execute(
        select(running.c.id, running.c.user_id, running.c.balance_after, running.c.running).where(
            running.c.balance_after != running.c.running
        )
    ).all()
    violations += [
        Violation(
            int(r.user_id),
            f"entry {r.id} says balance_after {r.balance_after}, running sum is {r.running}",
        )
        for r in broken
    ]
    return violations


def account_count(session: Session) -> int:
    """How many billing accounts exist (for the operator report)."""
    return int(session.execute(select(func.count()).select_from(BillingAccount)).scalar_one())


@dataclass(frozen=True)
class Summary:
    """An account at a glance: balance, latest usage and latest movements."""

    balance: int
    usage: list[UsageLog]
    entries: list[LedgerEntry]


def summary(session: Session, *, user_id: int, limit: int = 10) -> Summary:
    """The balance with the `limit` latest usage rows and ledger entries."""
    return Summary(
        balance=balance(session, user_id=user_id),
        usage=recent_usage(session, user_id=user_id, limit=limit),
        entries=statement(session, user_id=user_id, limit=limit),
    )
