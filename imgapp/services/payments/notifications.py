"""Money in: a notification, or the gateway's word that an order was paid, credits it once.

The order is matched under a row lock and moves to `succeeded` in the same
transaction as the ledger credit, whose idempotency key is the order's:
replays, and twenty copies at once, credit nothing more. Whether the
notification's signature is genuine is the gateway's to say (`authentic`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session, col

from imgapp.models import LedgerKind, PaymentStatus, PaymentTransaction
from imgapp.models.base import require_id, utcnow
from imgapp.services import audit, invites, ledger
from imgapp.services.audit import Action
from imgapp.services.errors import NotFound, ValidationFailed
from imgapp.services.payments.amounts import format_fen, parse_amount
from imgapp.services.payments.orders import find


class Verdict(StrEnum):
    """What became of a notification."""

    CREDITED = "credited"  # the order is paid and the credit booked now
    ALREADY_CREDITED = "already_credited"  # a replay: nothing more
    MISSING_FIELDS = "missing_fields"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_ORDER = "unknown_order"
    AMOUNT_MISMATCH = "amount_mismatch"


ACCEPTED = {Verdict.CREDITED, Verdict.ALREADY_CREDITED}
NOTIFY_FIELDS = ("aoid", "order_id", "pay_price", "pay_time", "sign")


@dataclass(frozen=True)
class Change:
    """An order that just changed, as its owner's open pages need to hear of it."""

    user_id: int
    order_id: str
    status: str
    balance: int | None = None  # set when credits arrived


@dataclass(frozen=True)
class Outcome:
    """A notification's verdict and the order it concerned (when known)."""

    verdict: Verdict
    order: PaymentTransaction | None = None
    balance: int | None = None
    reward: invites.Reward | None = None  # the inviter's, when this was a first recharge
    late: bool = False  # credited after the order had expired (honoured, audited as late)

    @property
    def accepted(self) -> bool:
        """Whether XorPay should be told `success`."""
        return self.verdict in ACCEPTED

    @property
    def change(self) -> Change | None:
        """What to tell the owner's pages: only when this outcome credited the order."""
        if self.order is None or self.verdict != Verdict.CREDITED:
            return None
        return Change(self.order.user_id, self.order.order_id, self.order.status, self.balance)


def _reject(
    session: Session,
    verdict: Verdict,
    fields: dict[str, str],
    ip: str,
    order: PaymentTransaction | None = None,
) -> Outcome:
    audit.record(
        session,
        action=Action.NOTIFICATION_REJECTED,
        actor_user_id=order.user_id if order else None,
        target=str(fields.get("order_id", ""))[:255],
        ip=ip,
        details={"reason": verdict.value, "fields": {k: str(v)[:255] for k, v in fields.items()}},
    )
    return Outcome(verdict, order)


def _price_fen(text: str) -> int | None:
    try:
        return parse_amount(text)
    except ValidationFailed:
        return None


def _detail(fields: dict[str, str]) -> dict[str, str]:
    try:
        detail = json.loads(fields.get("detail") or "{}")
    except ValueError:
        return {}
    return {k: str(v) for k, v in detail.items()} if isinstance(detail, dict) else {}


def handle_notification(
    session: Session, *, fields: dict[str, str], authentic: bool, ip: str = ""
) -> Outcome:
    """Credit a notification's order exactly once; `authentic`: the gateway checked its signature.

    Every rejection is audited with the fields as received.
    """
    if any(not fields.get(name) for name in NOTIFY_FIELDS):
        return _reject(session, Verdict.MISSING_FIELDS, fields, ip)
    if not authentic:
        return _reject(session, Verdict.BAD_SIGNATURE, fields, ip)
    order = find(session, fields["order_id"], lock=True)
    if order is None:
        return _reject(session, Verdict.UNKNOWN_ORDER, fields, ip)
    if order.status == PaymentStatus.SUCCEEDED:
        return Outcome(Verdict.ALREADY_CREDITED, order)
    now = utcnow()
    if _price_fen(fields["pay_price"]) != order.amount_fen:
        order.review_reason = (
            f"notification pay_price {fields['pay_price'][:16]} differs from the order's "
            f"{format_fen(order.amount_fen)}"
        )
        order.updated_at = now
        session.flush()
        return _reject(session, Verdict.AMOUNT_MISMATCH, fields, ip, order)
    return _credit(
        session,
        order,
        paid_price=fields["pay_price"],
        aoid=fields["aoid"],
        detail=_detail(fields),
        notification={k: str(v) for k, v in fields.items()},
        ip=ip,
        via="notification",
    )


def _credit(
    session: Session,
    order: PaymentTransaction,
    *,
    paid_price: str,
    aoid: str,
    detail: dict[str, str],
    notification: dict[str, str] | None,
    ip: str,
    via: str,
) -> Outcome:
    """Mark a locked, unpaid order paid and credit it: the one way money comes in."""
    now = utcnow()
    late = order.status != PaymentStatus.PENDING or order.expires_at < now
    movement = ledger.credit(
        session,
        user_id=order.user_id,
        credits=order.credits,
        kind=LedgerKind.RECHARGE,
        key=f"recharge:{order.order_id}",
        reference=ledger.Reference("payment", order.order_id),
        description=f"{format_fen(order.amount_fen)} CNY via {order.pay_type}",
    )
    session.execute(
        update(PaymentTransaction)
        .where(
            col(PaymentTransaction.id) == require_id(order.id),
            col(PaymentTransaction.status) != PaymentStatus.SUCCEEDED.value,
        )
        .values(
            status=PaymentStatus.SUCCEEDED.value,
            aoid=(aoid or order.aoid)[:64],
            paid_at=now,
            paid_price=paid_price[:16],
            transaction_id=detail.get("transaction_id", "")[:128],
            bank_type=detail.get("bank_type", "")[:64],
            buyer=detail.get("buyer", "")[:128],
            notification=notification,
            ledger_entry_id=movement.entry_id,
            updated_at=now,
        ),
        execution_options={"synchronize_session": False},
    )
    audit.record(
        session,
        action=Action.PAYMENT_LATE if late else Action.PAYMENT_SUCCEEDED,
        actor_user_id=order.user_id,
        target=order.order_id,
        ip=ip,
        details={
            "credits": order.credits,
            "amount_fen": order.amount_fen,
            "entry_id": movement.entry_id,
            "was": order.status,
            "expired": order.expires_at < now,
            "via": via,
        },
    )
    session.refresh(order)
    # The one place an order becomes paid: an invitee's first recharge rewards the inviter here.
    reward = invites.on_first_recharge(
        session, invitee_id=order.user_id, recharge_credits=order.credits
    )
    return Outcome(Verdict.CREDITED, order, movement.balance_after, reward, late=late)


def confirm_paid(session: Session, *, order_id: str) -> Outcome:
    """The gateway says (query2) the order was paid but no notification came: credit it once."""
    order = find(session, order_id, lock=True)
    if order is None:
        raise NotFound
    if order.status == PaymentStatus.SUCCEEDED:
        return Outcome(Verdict.ALREADY_CREDITED, order)
    return _credit(
        session,
        order,
        paid_price=format_fen(order.amount_fen),
        aoid=order.aoid,
        detail={},
        notification=None,
        ip="",
        via="reconciliation",
    )
