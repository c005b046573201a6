"""Operator diagnostics for recharge orders (`python -m imgapp payments show`)."""

from __future__ import annotations

from datetime import datetime

from imgapp.models import PaymentStatus, PaymentTransaction


def diagnose(order: PaymentTransaction, *, now: datetime) -> list[str]:
    """What an operator should know about an order and what to do; PROBLEM lines need action."""
    notes = []
    if order.review_reason:
        notes.append(f"PROBLEM: flagged for review: {order.review_reason}. Check the gateway.")
    if order.status == PaymentStatus.SUCCEEDED and order.ledger_entry_id is None:
        notes.append("PROBLEM: paid but no ledger entry recorded; run `credits check`.")
    if order.status == PaymentStatus.PENDING and not order.confirmed:
        why = order.gateway_error or "no answer yet"
        notes.append(f"The gateway has not confirmed the order ({why}); the payer can retry.")
    if order.status == PaymentStatus.PENDING and order.expires_at < now:
        notes.append(
            "Past its expiry: the next reconciliation round asks the gateway and settles it."
        )
    if order.status == PaymentStatus.FAILED:
        notes.append(f"The gateway refused it ({order.gateway_error}); nothing was paid.")
    if not notes:
        notes.append("Nothing wrong.")
    return notes
