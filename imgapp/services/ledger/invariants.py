"""The ledger's books checked from the outside: `check_invariants`, `Violation`, `account_count`.

For every account: balance == sum(amounts), no balance is negative, every
entry has an account, and each entry's `balance_after` is the running sum.
The operator command (`credits check`) and the tests call it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlmodel import Session, col

from imgapp.models.billing import BillingAccount, LedgerEntry


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
