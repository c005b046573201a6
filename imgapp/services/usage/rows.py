"""The detail of a usage report: one row per ledger entry, paged by keyset or streamed.

Keyset paging (`cursor`) stays stable while new entries arrive; the stream
fetches a batch at a time, so an export of any size runs in constant memory.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import literal, select, tuple_
from sqlmodel import Session

from imgapp.models import LedgerEntry, LedgerKind
from imgapp.services.errors import ValidationFailed
from imgapp.services.usage.params import Range
from imgapp.services.usage.query import REFUND_REFERENCE, images, page_rows, report_rows


@dataclass(frozen=True)
class Row:
    """One ledger entry of the range, with what it paid for."""

    entry_id: int
    created_at: datetime  # aware UTC
    kind: str
    amount: int  # the signed ledger amount
    balance_after: int
    model: str
    size: str
    images: int
    task_id: int | None
    reference: str  # task:<id>, payment:<order id>, ledger_entry:<id>, api:<key>
    refund_of: int | None  # for a refund: the charge entry it gives back
    description: str

    @property
    def credits(self) -> int:
        """Credits used: a charge's cost, a refund's return as negative; 0 for other kinds."""
        if self.kind == LedgerKind.CHARGE:
            return -self.amount
        if self.kind == LedgerKind.REFUND:
            return -self.amount
        return 0


def _row(found: Any) -> Row:
    refund_of = None
    if found.kind == LedgerKind.REFUND and found.reference_type == REFUND_REFERENCE:
        refund_of = int(found.reference_id)
    reference = (
        f"{found.reference_type}:{found.reference_id}"
        if found.reference_id
        else found.reference_type
    )
    created = found.created_at
    return Row(
        entry_id=int(found.id),
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
        kind=found.kind,
        amount=int(found.amount),
        balance_after=int(found.balance_after),
        model=found.model or "",
        size=found.size or "",
        images=int(found.images or 0),
        task_id=found.task_id,
        reference=reference,
        refund_of=refund_of,
        description=found.description,
    )


def _sort_columns(table: Any, sort: str) -> tuple[Any, Any]:
    """The keyset of `sort` on a table or derived table: (amount or time, id)."""
    columns = table.c if hasattr(table, "c") else table
    by_credits = sort.lstrip("-") == "credits"
    return (columns.amount if by_credits else columns.created_at), columns.id


def _order(first: Any, second: Any, sort: str) -> list[Any]:
    return [first.desc(), second.desc()] if sort.startswith("-") else [first, second]


def encode_cursor(row: Row, sort: str) -> str:
    """Where the next page starts: after `row`, in `sort` order."""
    value: Any = row.amount if sort.lstrip("-") == "credits" else row.created_at.isoformat()
    raw = json.dumps([value, row.entry_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, entry_id = json.loads(raw)
        if sort.lstrip("-") == "credits":
            return int(value), int(entry_id)
        moment = datetime.fromisoformat(value)
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC), int(
            entry_id
        )
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(
            "cursor_invalid",
            "`cursor` is not one this report gave out; start again without it.",
            field="cursor",
        ) from exc


def _rows_statement(report: Any, sort: str) -> Any:
    return select(*report.c, images(report).label("images")).order_by(
        *_order(*_sort_columns(report, sort), sort)
    )


@dataclass(frozen=True)
class Page:
    """One page of detail rows and where the next one starts (None: this was the last)."""

    rows: list[Row]
    next_cursor: str | None


def rows(
    session: Session,
    *,
    user_id: int,
    window: Range,
    sort: str = "-time",
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """A page of the range's entries in `sort` order (keyset paging: stable under new writes)."""
    first, second = _sort_columns(LedgerEntry, sort)
    after = None
    if cursor:
        value, entry_id = _decode_cursor(cursor, sort)
        seen = tuple_(literal(value, first.type), literal(entry_id, second.type))
        here = tuple_(first, second)
        after = here < seen if sort.startswith("-") else here > seen
    report = page_rows(
        user_id, window, order=_order(first, second, sort), after=after, limit=limit + 1
    )
    found = [_row(r) for r in session.execute(_rows_statement(report, sort)).all()]
    more = len(found) > limit
    page = found[:limit]
    return Page(page, encode_cursor(page[-1], sort) if more and page else None)


def stream_rows(
    session: Session, *, user_id: int, window: Range, batch: int = 2000
) -> Iterator[Row]:
    """Every entry of the range, oldest first, fetched `batch` rows at a time (constant memory)."""
    statement = _rows_statement(report_rows(user_id, window), "time").execution_options(
        yield_per=batch, stream_results=True
    )
    for found in session.execute(statement):
        yield _row(found)
