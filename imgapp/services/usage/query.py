"""The rows every part of the report reads: a user's ledger entries in a range, with usage.

A charge's usage row says what it paid for (model, size, images, task); a
refund points at the charge it undoes (ledger reference `ledger_entry:<id>`) and is
joined to that charge's usage row, so it groups with its model and size.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from imgapp.models import LedgerEntry, LedgerKind, UsageLog
from imgapp.services import ledger
from imgapp.services.usage.params import Range

REFUND_REFERENCE = ledger.REFUND_REFERENCE  # a refund refers to the charge it gives back

is_charge = col(LedgerEntry.kind) == LedgerKind.CHARGE.value
is_refund_of_entry = and_(
    col(LedgerEntry.kind) == LedgerKind.REFUND.value,
    col(LedgerEntry.reference_type) == REFUND_REFERENCE,
)
# The charge entry whose usage row describes this entry: itself, or the charge a refund undoes.
charge_id = case(
    (is_charge, col(LedgerEntry.id)),
    (is_refund_of_entry, cast(col(LedgerEntry.reference_id), BigInteger)),
    else_=None,
)
# Images: +n for a charge, -n for a refund that gives the whole charge back.
images = case(
    (is_charge, col(UsageLog.image_count)),
    (
        and_(is_refund_of_entry, col(LedgerEntry.amount) == col(UsageLog.credits)),
        -col(UsageLog.image_count),
    ),
    else_=0,
)
task_charge = case((and_(is_charge, col(UsageLog.task_id).is_not(None)), 1), else_=0)


def in_range(user_id: int, window: Range) -> list[ColumnElement[bool]]:
    """The user's entries written within the range."""
    return [
        col(LedgerEntry.user_id) == user_id,
        col(LedgerEntry.created_at) >= window.low,
        col(LedgerEntry.created_at) < window.high,
    ]


def entries_with_usage(*columns: Any) -> Any:
    """SELECT `columns` FROM ledger entries LEFT JOIN the usage row of their charge."""
    return (
        select(*columns)
        .select_from(LedgerEntry)
        .outerjoin(UsageLog, col(UsageLog.ledger_entry_id) == charge_id)
    )
