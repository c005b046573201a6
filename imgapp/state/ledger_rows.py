"""Ledger and usage rows shaped for tables: plain strings, kinds translated per language.

Times are written in the reader's zone (`zone`; None: the site's).
"""

from __future__ import annotations

from datetime import tzinfo

from imgapp.core import formatting, i18n
from imgapp.models import LedgerEntry


def entry_row(entry: LedgerEntry, *, zone: tzinfo | None = None) -> dict[str, str]:
    """A ledger entry for display (the kind is translated later, by `translate_kinds`)."""
    return {
        "id": str(entry.id),
        "kind": entry.kind,
        "amount": formatting.signed(entry.amount),
        "positive": "1" if entry.amount > 0 else "",
        "balance_after": formatting.count(entry.balance_after),
        "reference": entry.reference,
        "description": entry.description,
        "time": formatting.local_time(entry.created_at, zone=zone),
    }


def usage_row(
    charge: LedgerEntry, *, zone: tzinfo | None = None, refunded: int = 0
) -> dict[str, str]:
    """A charge as a usage row (what it paid for); `refunded` is what has been given back of it."""
    what = " · ".join(x for x in (charge.model, charge.size) if x)
    credits = -charge.amount
    return {
        "id": str(charge.id),
        "what": what or charge.description,
        "images": str(charge.image_count) if charge.image_count else "",
        "credits": formatting.count(credits),
        "refunded": formatting.count(refunded) if refunded else "",
        "refunded_all": "1" if refunded >= credits else "",
        "task": str(charge.task_id or ""),
        "description": charge.description,
        "time": formatting.local_time(charge.created_at, zone=zone),
    }


def translate_kinds(rows: list[dict[str, str]], lang: str) -> list[dict[str, str]]:
    """Add `kind_label`, the entry kind in the reader's language."""
    return [{**row, "kind_label": i18n.text(f"kind.{row['kind']}", lang)} for row in rows]
