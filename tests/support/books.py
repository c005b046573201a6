"""The books of a whole deployment, read from its database after a run with faults.

`problems(database_url)` lists what is wrong: the ledger's own invariants
(`services.ledger.check_invariants`), and for every task: charged exactly
once for its cost, refunded exactly when it did not complete (the whole cost,
once), never more images than asked for, nothing left pending or processing.
Paid orders: credited exactly once, for their credits; no recharge entry for
an order that is not paid; no idempotency key used twice. The production
shape's tests and the load bench (`bench/load.py`) both check with it.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from imgapp.core import db
from imgapp.services import ledger

_TASKS = text(
    """
    SELECT t.id, t.status, t.cost, t.n, t.refunded,
           (SELECT count(*) FROM ledger_entries c
             WHERE c.kind = 'charge' AND c.reference_type = 'task'
               AND c.reference_id = CAST(t.id AS TEXT)) AS charges,
           (SELECT COALESCE(-SUM(c.amount), 0) FROM ledger_entries c
             WHERE c.kind = 'charge' AND c.reference_type = 'task'
               AND c.reference_id = CAST(t.id AS TEXT)) AS charged,
           (SELECT COALESCE(SUM(r.amount), 0) FROM ledger_entries r
              JOIN ledger_entries c ON r.reference_type = :refund_ref
                                   AND r.reference_id = CAST(c.id AS TEXT)
             WHERE r.kind = 'refund' AND c.reference_type = 'task'
               AND c.reference_id = CAST(t.id AS TEXT)) AS refunds,
           (SELECT count(*) FROM task_images i WHERE i.task_id = t.id) AS images,
           (SELECT count(DISTINCT i.position) FROM task_images i
             WHERE i.task_id = t.id) AS positions
      FROM ai_images_creator_tasks t
    """
)
_PAID_ORDERS = text(
    """
    SELECT p.order_id, p.credits,
           (SELECT count(*) FROM ledger_entries e
             WHERE e.kind = 'recharge' AND e.reference_id = p.order_id) AS credits_entries,
           (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e
             WHERE e.kind = 'recharge' AND e.reference_id = p.order_id) AS credited
      FROM payment_transactions p WHERE p.status = 'succeeded'
    """
)
_RECHARGES_WITHOUT_PAID_ORDER = text(
    """
    SELECT e.id, e.reference_id FROM ledger_entries e
      LEFT JOIN payment_transactions p ON p.order_id = e.reference_id AND p.status = 'succeeded'
     WHERE e.kind = 'recharge' AND p.order_id IS NULL
    """
)
_KEYS_TWICE = text(
    "SELECT idempotency_key FROM ledger_entries GROUP BY idempotency_key HAVING count(*) > 1"
)


def _task_problems(row) -> list[str]:
    found = []
    if row.charges != 1 or row.charged != row.cost:
        found.append(f"charged {row.charges} times, {row.charged} credits for a cost of {row.cost}")
    if row.refunds != row.refunded:
        found.append(f"the ledger refunded {row.refunds}, the task says {row.refunded}")
    if row.status == "completed" and (row.refunds != 0 or row.images != row.n):
        found.append(f"completed with {row.images}/{row.n} images and {row.refunds} refunded")
    if row.status in {"failed", "cancelled"} and row.refunds != row.cost:
        found.append(f"{row.status} but {row.refunds} of {row.cost} refunded")
    if row.status in {"pending", "processing"}:
        found.append(f"still {row.status}")
    if row.images > row.n or row.positions != row.images:
        found.append(f"{row.images} images ({row.positions} positions) for n={row.n}")
    return [f"task {row.id}: {problem}" for problem in found]


def problems(database_url: str) -> list[str]:
    """Everything wrong with the books of the database at `database_url`."""
    engine = db.make_engine(database_url)
    try:
        with Session(engine) as session:
            found = [str(v) for v in ledger.check_invariants(session)]
            for row in session.execute(_TASKS, {"refund_ref": ledger.REFUND_REFERENCE}):
                found += _task_problems(row)
            for row in session.execute(_PAID_ORDERS):
                if row.credits_entries != 1 or row.credited != row.credits:
                    found.append(
                        f"order {row.order_id}: credited {row.credits_entries} times,"
                        f" {row.credited} of {row.credits} credits"
                    )
            for row in session.execute(_RECHARGES_WITHOUT_PAID_ORDER):
                found.append(f"entry {row.id}: a recharge for {row.reference_id}, not a paid order")
            found += [f"key {row[0]!r} used twice" for row in session.execute(_KEYS_TWICE)]
    finally:
        engine.dispose()
    return found
