"""The rows every part of the report reads: a user's ledger entries in a range, with usage.

`report_rows` is one derived table: each entry of the range, with what its
charge paid for (model, size, images, task; what the charge cost). A charge's
entry carries those itself. A refund points at the charge it undoes (ledger
reference `ledger_entry:<id>`) and reads them from that charge's entry,
found by its primary key, so a refund groups with its charge's model and size.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, literal, not_, select, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from imgapp.models import LedgerEntry, LedgerKind
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
# The charge a row's usage comes from: the row itself for a charge, the charge
# it gives back for a refund.
_paid = aliased(LedgerEntry, name="paid")
_PAID_USAGE = (
    _paid.model,
    _paid.size,
    _paid.image_count,
    (-_paid.amount).label("charged"),
    _paid.task_id,
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
    reference_id, description, and what the charge paid for (blank on other
    kinds; `charged` is NULL there) model, size, image_count, charged, task_id.
    """
    is_charge = col(LedgerEntry.kind) == LedgerKind.CHARGE.value
    entries = select(
        *_ENTRY,
        col(LedgerEntry.model),
        col(LedgerEntry.size),
        col(LedgerEntry.image_count),
        case((is_charge, -col(LedgerEntry.amount)), else_=literal(None)).label("charged"),
        col(LedgerEntry.task_id),
    ).where(*in_range(user_id, window), not_(_is_refund_of_entry))
    refunds = (
        select(*_ENTRY, *_PAID_USAGE)
        .select_from(LedgerEntry)
        .outerjoin(_paid, _paid.id == cast(col(LedgerEntry.reference_id), BigInteger))
        .where(*in_range(user_id, window), _is_refund_of_entry)
    )
    return union_all(entries, refunds).subquery("report")


def page_rows(user_id: int, window: Range, *, order: list[Any], after: Any, limit: int) -> Any:
    """A few entries of the range (picked in `order`, after a keyset `after`), with usage.

    The page is picked from the ledger alone (its index gives the order), then
    each picked entry finds its charge by entry id (a charge finds itself): a
    page costs the same whatever the range holds. The same columns as
    `report_rows`.
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
        select(*p, *_PAID_USAGE)
        .select_from(picked)
        .outerjoin(_paid, _paid.id == charge_id)
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
