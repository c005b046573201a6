"""Ledger and usage rows shaped for tables: plain strings, kinds translated per language."""

from __future__ import annotations

from imgapp.core import formatting, i18n
from imgapp.models import LedgerEntry, UsageLog


def entry_row(entry: LedgerEntry) -> dict[str, str]:
    """A ledger entry for display (the kind is translated later, by `translate_kinds`)."""
    return {
        "id": str(entry.id),
        "kind": entry.kind,
        "amount": formatting.signed(entry.amount),
        "positive": "1" if entry.amount > 0 else "",
        "balance_after": formatting.count(entry.balance_after),
        "reference": entry.reference,
        "description": entry.description,
        "time": formatting.local_time(entry.created_at),
    }


def usage_row(usage: UsageLog) -> dict[str, str]:
    """A usage row for display."""
    what = " · ".join(x for x in (usage.model, usage.size) if x)
    return {
        "id": str(usage.id),
        "what": what or usage.description,
        "images": str(usage.image_count) if usage.image_count else "",
        "credits": formatting.count(usage.credits),
        "task": str(usage.task_id or ""),
        "description": usage.description,
        "time": formatting.local_time(usage.created_at),
    }


def translate_kinds(rows: list[dict[str, str]], lang: str) -> list[dict[str, str]]:
    """Add `kind_label`, the entry kind in the reader's language."""
    return [{**row, "kind_label": i18n.text(f"kind.{row['kind']}", lang)} for row in rows]
