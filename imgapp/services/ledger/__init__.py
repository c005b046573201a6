"""Credit ledger: the only code that moves a balance.

Every movement is one conditional `UPDATE billing_accounts ... RETURNING
balance` (a debit only matches while the balance covers it, so two racing
charges can never overspend) plus one immutable `ledger_entries` row whose
UNIQUE `idempotency_key` makes a retry return the first result. Everything
runs in the caller's transaction.

Invariant (`check_invariants`): for every account, balance == sum(amounts),
no balance is negative, and each entry's `balance_after` is the running sum.

The package, by concern (callers use the names re-exported here):
  - `values`: checked amounts and keys, `Usage`, `Reference`, `Movement`;
  - `writes`: the SQL of one movement and its two strategies (stepwise on
    SQLite, one statement on PostgreSQL);
  - `moves`: the money verbs (`charge`, `credit`, `adjust`, `refund`,
    `open_account`) and what a refused debit or a seen key means, and
    `prepare_charge` for a charge that is a transaction of its own (the
    committing is `imgapp.flows.billing.charge`'s: the ledger never commits);
  - `reads`: balance, the entry a key made, statement, recent usage, refunds of
    charges, summary;
  - `invariants`: `check_invariants`, `Violation`, `account_count`.
"""

from __future__ import annotations

from imgapp.models.billing import LedgerKind
from imgapp.services.errors import (
    IdempotencyConflict,
    InsufficientCredits,
    NotFound,
    RefundExceedsCharge,
    ValidationFailed,
)
from imgapp.services.ledger.invariants import Violation, account_count, check_invariants
from imgapp.services.ledger.moves import (
    REFUND_REFERENCE,
    adjust,
    charge,
    credit,
    open_account,
    prepare_charge,
    refund,
)
from imgapp.services.ledger.reads import (
    Summary,
    balance,
    entry_by_key,
    recent_usage,
    refunded_charges,
    statement,
    summary,
)
from imgapp.services.ledger.values import (
    MAX_MOVEMENT,
    Movement,
    Reference,
    Usage,
    check_credits,
    check_key,
)
from imgapp.services.ledger.writes import PreparedCharge

__all__ = [
    "MAX_MOVEMENT",
    "REFUND_REFERENCE",
    "IdempotencyConflict",
    "InsufficientCredits",
    "LedgerKind",
    "Movement",
    "NotFound",
    "PreparedCharge",
    "Reference",
    "RefundExceedsCharge",
    "Summary",
    "Usage",
    "ValidationFailed",
    "Violation",
    "account_count",
    "adjust",
    "balance",
    "charge",
    "check_credits",
    "check_invariants",
    "check_key",
    "credit",
    "entry_by_key",
    "open_account",
    "prepare_charge",
    "recent_usage",
    "refund",
    "refunded_charges",
    "statement",
    "summary",
]
