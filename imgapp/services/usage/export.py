"""The detail CSV of a usage report: its columns, and each row as written, two ways.

`csv_values` writes a `Row` in Python (any database). `csv_select` asks
PostgreSQL to write the very same text itself, so that an export of a million
rows can stream from `COPY (SELECT ...) TO STDOUT` at the database's own speed
(`core.db.copy_csv`, run with the session time zone set to the report's).
Both neutralise text a spreadsheet would run as a formula (a leading `=`,
`+`, `-`, `@`, tab or CR gets an apostrophe) and leave numbers as numbers;
`tests/api/test_usage_api.py` checks the two against the JSON rows.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import String, case, cast, func, literal, null, select

from imgapp.core.formatting import FORMULA_START, spreadsheet_safe
from imgapp.models import LedgerKind
from imgapp.services.usage.params import Range
from imgapp.services.usage.query import images, refund_of, report_rows
from imgapp.services.usage.rows import Row

COLUMNS = (
    "time",
    "time_utc",
    "entry_id",
    "kind",
    "credits",
    "amount",
    "balance_after",
    "model",
    "size",
    "images",
    "task_id",
    "reference",
    "refund_of",
    "description",
)


def values(row: Row, window: Range) -> list[object]:
    """One row in `COLUMNS` order (the JSON's values): local time with offset, then UTC."""
    return [
        row.created_at.astimezone(window.zone).isoformat(timespec="seconds"),
        row.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        row.entry_id,
        row.kind,
        row.credits,
        row.amount,
        row.balance_after,
        row.model,
        row.size,
        row.images,
        row.task_id,
        row.reference,
        row.refund_of,
        row.description,
    ]


def _cell(value: object) -> object:
    if value is None:
        return ""
    return spreadsheet_safe(value) if isinstance(value, str) else value


def csv_values(row: Row, window: Range) -> list[object]:
    """One row as the CSV writes it: formula-safe text, nothing for None."""
    return [_cell(v) for v in values(row, window)]


def _safe_sql(text: Any) -> Any:
    """SQL for `spreadsheet_safe`; an empty text becomes NULL, which COPY writes as nothing."""
    return case(
        (func.substr(text, 1, 1).in_(FORMULA_START), literal("'") + text),
        else_=func.nullif(text, ""),
    )


def csv_select(user_id: int, window: Range) -> Any:
    """A SELECT whose text columns are `csv_values`, for PostgreSQL's COPY (oldest first).

    Run it with the session's TimeZone set to the report's zone: `to_char`
    then writes local time with its offset, as `isoformat` does.
    """
    report = report_rows(user_id, window)
    r = report.c
    credits = case(
        (r.kind.in_([LedgerKind.CHARGE.value, LedgerKind.REFUND.value]), -r.amount),
        else_=0,
    )
    reference = case(
        (r.reference_id != "", r.reference_type + literal(":") + r.reference_id),
        else_=r.reference_type,
    )
    return select(
        func.to_char(r.created_at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'),
        func.to_char(func.timezone("UTC", r.created_at), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        r.id,
        r.kind,
        credits,
        r.amount,
        r.balance_after,
        _safe_sql(func.coalesce(r.model, "")),
        _safe_sql(func.coalesce(r.size, "")),
        images(report),
        r.task_id,
        _safe_sql(cast(reference, String)),
        case((refund_of(report), r.reference_id), else_=null()),
        _safe_sql(r.description),
    ).order_by(r.created_at, r.id)
