"""The rows every part of the report reads: a user's ledger entries in a range, with usage.

`report_rows` is one derived table: each entry of the range, with the usage
row of its charge (model, size, images, task; what the charge cost). A
charge's usage row is written by the same statement as the charge, with the
same time, so charges look for it among the user's usage rows of the same
range: the database reads only the range's rows of both tables, whatever
their history. A refund points at the charge it undoes (ledger reference
`ledger_entry:<id>`) and finds that charge's usage row through its unique
index, so a refund groups with its charge's model and size.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, not_, select, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from imgapp.models import LedgerEntry, LedgerKind, UsageLog
from imgapp.services import ledger
from imgapp.services.usage.params import Range

REFUND_REFERENCE = ledger.REFUND_REFERENCE  # a refund refers to the charge it gives back

_is_refund_of_entry = and_(
    col(LedgerEntry.kind) == LedgerKind.REFUND.value,
    col(LedgerEntry.reference_type) == REFUND_REFERENCE,
)
_ENTRY = (
    col(LedgerEntry.id),
    col(LedgerEntry.created_at),
    col(LedgerEntry.kind),
    col(LedgerEntry.amount),
    col(LedgerEntry.balance_after),
    col(LedgerEntry.reference_type),
    col(LedgerEntry.reference_id),
    col(LedgerEntry.description),
)
_USAGE = (
    col(UsageLog.model),
    col(UsageLog.size),
    col(UsageLog.image_count),
    col(UsageLog.credits).label("charged"),
    col(UsageLog.task_id),
)


def in_range(user_id: int, window: Range) -> list[ColumnElement[bool]]:
    """The user's entries written within the range."""
    return [
        col(LedgerEntry.user_id) == user_id,
        col(LedgerEntry.created_at) >= window.low,
        col(LedgerEntry.created_at) < window.high,
    ]


def report_rows(user_id: int, window: Range) -> Any:
    """The range's entries with their charge's usage, as a derived table.

    Columns: id, created_at, kind, amount, balance_after, reference_type,
    reference_id, description, and from the usage row (NULL where there is
    none) model, size, image_count, charged, task_id.
    """
    own_usage = and_(
        col(UsageLog.ledger_entry_id) == col(LedgerEntry.id),
        col(LedgerEntry.kind) == LedgerKind.CHARGE.value,
        col(UsageLog.user_id) == user_id,
        col(UsageLog.created_at) >= window.low,
        col(UsageLog.created_at) < window.high,
    )
    entries = (
        select(*_ENTRY, *_USAGE)
        .select_from(LedgerEntry)
        .outerjoin(UsageLog, own_usage)
        .where(*in_range(user_id, window), not_(_is_refund_of_entry))
    )
    refunds = (
        select(*_ENTRY, *_USAGE)
        .select_from(LedgerEntry)
        .outerjoin(
            UsageLog,
            col(UsageLog.ledger_entry_id) == cast(col(LedgerEntry.reference_id), BigInteger),
        )
        .where(*in_range(user_id, window), _is_refund_of_entry)
    )
    return union_all(entries, refunds).subquery("report")


def page_rows(user_id: int, window: Range, *, order: list[Any], after: Any, limit: int) -> Any:
    """A few entries of the range (picked in `order`, after a keyset `after`), with usage.

    The page is picked from the ledger alone (its index gives the order), then
    each picked entry finds its charge's usage row by entry id: a page costs
    the same whatever the range holds. The same columns as `report_rows`.
    """
    picked = (
        select(*_ENTRY)
        .where(*in_range(user_id, window), *([] if after is None else [after]))
        .order_by(*order)
        .limit(limit)
        .subquery("picked")
    )
    p = picked.c
    charge_id = case(
        (p.kind == LedgerKind.CHARGE.value, p.id),
        (
            and_(p.kind == LedgerKind.REFUND.value, p.reference_type == REFUND_REFERENCE),
            cast(p.reference_id, BigInteger),
        ),
        else_=None,
    )
    return (
        select(*p, *_USAGE)
        .select_from(picked)
        .outerjoin(UsageLog, col(UsageLog.ledger_entry_id) == charge_id)
        .subquery("report")
    )


def is_charge(report: Any) -> ColumnElement[bool]:
    """The row is a charge."""
    return report.c.kind == LedgerKind.CHARGE.value


def refund_of(report: Any) -> ColumnElement[bool]:
    """The row is a refund of a charge entry."""
    return and_(
        report.c.kind == LedgerKind.REFUND.value, report.c.reference_type == REFUND_REFERENCE
    )


def images(report: Any) -> Any:
    """+n for a charge, -n for a refund that gives the whole charge back, else 0."""
    return case(
        (is_charge(report), report.c.image_count),
        (and_(refund_of(report), report.c.amount == report.c.charged), -report.c.image_count),
        else_=0,
    )


def task_charge(report: Any) -> Any:
    """1 for a charge that paid for a task, else 0 (so a sum counts tasks charged)."""
    return case((and_(is_charge(report), report.c.task_id.is_not(None)), 1), else_=0)
