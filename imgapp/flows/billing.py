"""The money actions that run in a transaction of their own.

The ledger (`imgapp.services.ledger`) moves balances inside its caller's
transaction and never commits; the actions here are that caller.
"""

from __future__ import annotations

from imgapp.core import db, metrics
from imgapp.models import LedgerKind
from imgapp.services import ledger


def charge(
    *,
    user_id: int,
    credits: int,
    key: str,
    usage: ledger.Usage | None = None,
    reference: ledger.Reference | None = None,
    description: str = "",
) -> ledger.Movement:
    """`ledger.charge` in a transaction of its own, committed when it returns.

    On PostgreSQL the common outcome (covered, new key) is one autocommitted
    statement on a pooled driver connection: one round trip, no Session. Any
    other outcome (a replay, a refusal, a key race, no account) has written
    nothing and goes to `ledger.charge` in a Session, which knows how to
    answer it. The money rules are the same either way.
    """
    charge = {
        "user_id": user_id,
        "credits": credits,
        "key": key,
        "usage": usage,
        "reference": reference,
        "description": description,
    }
    prepared = ledger.prepare_charge(**charge)
    if db.get_engine().dialect.name == "postgresql":
        try:
            row = db.run_alone(prepared.statement, prepared.params)
        except db.StatementRefused:  # the key was taken: nothing moved
            row = None
        if (moved := prepared.movement(row)) is not None:
            metrics.record_ledger_movement(LedgerKind.CHARGE.value)  # committed: it ran alone
            return moved
    return db.call(ledger.charge, **charge)
