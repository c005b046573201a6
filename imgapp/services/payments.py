"""Recharge orders: amounts and limits, creating orders, and crediting a paid one exactly once.

An order is written `pending` and unconfirmed before the gateway is called
(`open_order`), then marked with the gateway's answer (`record_created` /
`record_refused`); if the gateway does not answer, it stays pending and can be
sent again with the same order id. A notification is verified, matched to its
order under a row lock, and moves it to `succeeded` in the same transaction as
the ledger credit, whose idempotency key is the order's: replays, and twenty
copies at once, credit nothing more.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlmodel import Session, col

from imgapp.core import db
from imgapp.gateways import xorpay
from imgapp.models import LedgerKind, PaymentStatus, PaymentTransaction
from imgapp.models.base import require_id, utcnow
from imgapp.services import audit, ledger
from imgapp.services.audit import Action
from imgapp.services.errors import NotFound, ValidationFailed

FEN_PER_YUAN = 100
MIN_AMOUNT_FEN = 1


@dataclass(frozen=True)
class PayType:
    """A way to pay: our name for it, XorPay's, its per-payment limit, what payers call it."""

    name: str
    gateway_name: str
    max_fen: int
    label_en: str
    label_zh: str


# XORPAY.md, "Limits worth showing to the payer".
PAY_TYPES = {
    "alipay": PayType("alipay", "alipay", 1_000 * FEN_PER_YUAN, "Alipay", "支付宝"),
    "wechat": PayType("wechat", "native", 20_000 * FEN_PER_YUAN, "WeChat Pay", "微信支付"),
}
_AMOUNT = re.compile(r"^(0|[1-9]\d{0,9})(\.\d{1,2})?$")


def format_fen(fen: int) -> str:
    """5000 -> "50.00": how the gateway and the payer see an amount."""
    return f"{fen // FEN_PER_YUAN}.{fen % FEN_PER_YUAN:02d}"


def parse_amount(value: object) -> int:
    """A CNY amount as fen: a string like "50" or "50.00" (or a JSON integer of yuan)."""
    text = (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )
    match = _AMOUNT.match(text)
    if not match:
        raise ValidationFailed(
            "amount_format",
            'Send `amount` as a string of yuan with at most two decimals, such as "50.00".',
            field="amount",
        )
    whole, cents = match.group(1), (match.group(2) or ".")[1:]
    fen = int(whole) * FEN_PER_YUAN + int(cents.ljust(2, "0") or "0")
    if fen < MIN_AMOUNT_FEN:
        raise ValidationFailed(
            "amount_too_small", "`amount` must be at least 0.01.", field="amount"
        )
    return fen


def pay_type(name: object) -> PayType:
    """The pay type called `name`, or `ValidationFailed` listing those offered."""
    found = PAY_TYPES.get(name) if isinstance(name, str) else None
    if found is None:
        offered = ", ".join(PAY_TYPES)
        raise ValidationFailed(
            "pay_type_unknown",
            f"`pay_type` must be one of: {offered}.",
            field="pay_type",
            offered=offered,
        )
    return found


def credits_for(fen: int, *, credit_price_fen: int) -> int:
    """How many credits `fen` buys (whole credits; a remainder buys nothing)."""
    return fen // credit_price_fen


def check_order(
    amount: object, pay_type_name: object, *, credit_price_fen: int
) -> tuple[int, PayType, int]:
    """Validate a recharge request: (amount in fen, pay type, credits), or `ValidationFailed`."""
    kind = pay_type(pay_type_name)
    fen = parse_amount(amount)
    if fen > kind.max_fen:
        limit = format_fen(kind.max_fen)
        raise ValidationFailed(
            "amount_over_limit",
            f"{kind.label_en} takes at most {limit} per payment.",
            field="amount",
            limit=limit,
            pay_type=kind.name,
            label_en=kind.label_en,
            label_zh=kind.label_zh,
        )
    credits = credits_for(fen, credit_price_fen=credit_price_fen)
    if credits < 1:
        price = format_fen(credit_price_fen)
        raise ValidationFailed(
            "amount_buys_nothing",
            f"One credit costs {price}; the amount must buy at least one.",
            field="amount",
            price=price,
        )
    return fen, kind, credits


def new_order_id(now: datetime | None = None) -> str:
    """Ours, sortable and unguessable: R + UTC time to the second + 10 random hex digits."""
    return f"R{(now or utcnow()):%Y%m%d%H%M%S}{secrets.token_hex(5)}"


def open_order(
    session: Session,
    *,
    user_id: int,
    amount_fen: int,
    pay_type_name: str,
    credits: int,
    provider: str,
    expire_seconds: int,
    ip: str = "",
) -> PaymentTransaction:
    """Write the order, pending and not yet confirmed by the gateway."""
    now = utcnow()
    order = PaymentTransaction(
        order_id=new_order_id(now),
        user_id=user_id,
        provider=provider,
        pay_type=pay_type_name,
        amount_fen=amount_fen,
        credits=credits,
        expires_at=now + timedelta(seconds=expire_seconds),
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    session.flush()
    audit.record(
        session,
        action=Action.PAYMENT_CREATED,
        actor_user_id=user_id,
        target=order.order_id,
        ip=ip,
        details={
            "amount_fen": amount_fen,
            "credits": credits,
            "pay_type": pay_type_name,
            "provider": provider,
        },
    )
    return order


def _order(session: Session, order_id: str, *, lock: bool = False) -> PaymentTransaction | None:
    statement = select(PaymentTransaction).where(col(PaymentTransaction.order_id) == order_id)
    if lock:
        statement = statement.with_for_update()  # PostgreSQL; SQLite: BEGIN IMMEDIATE
    return session.execute(statement).scalar_one_or_none()


def get_order(session: Session, *, order_id: str, user_id: int | None = None) -> PaymentTransaction:
    """The order; `NotFound` when there is none, or it belongs to someone else."""
    order = _order(session, order_id)
    if order is None or (user_id is not None and order.user_id != user_id):
        raise NotFound
    return order


def record_created(
    session: Session, *, order_id: str, created: xorpay.CreatedOrder
) -> PaymentTransaction:
    """The gateway took the order: keep its id, the QR content and the expiry it gave."""
    order = get_order(session, order_id=order_id)
    now = utcnow()
    order.confirmed = True
    order.gateway_error = ""
    order.aoid = created.aoid[:64]
    order.qr = created.qr[:1024]
    if created.expires_in > 0:
        order.expires_at = min(order.expires_at, now + timedelta(seconds=created.expires_in))
    order.updated_at = now
    session.flush()
    return order


def record_refused(session: Session, *, order_id: str, error: xorpay.GatewayError) -> None:
    """The gateway refused the order (or did not answer): note why; refusals fail it."""
    order = get_order(session, order_id=order_id)
    order.gateway_error = error.status[:64]
    order.updated_at = utcnow()
    if not isinstance(error, xorpay.GatewayUnreachable) and order.status == PaymentStatus.PENDING:
        order.status = PaymentStatus.FAILED.value
        audit.record(
            session,
            action=Action.PAYMENT_REFUSED,
            actor_user_id=order.user_id,
            target=order.order_id,
            details={"gateway_status": error.status, "info": str(error.info or "")[:255]},
        )
    session.flush()


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
    session: Session, *, fields: dict[str, str], app_secret: str, ip: str = ""
) -> Outcome:
    """Verify a notification and credit its order exactly once (see the module docstring)."""
    if any(not fields.get(name) for name in NOTIFY_FIELDS):
        return _reject(session, Verdict.MISSING_FIELDS, fields, ip)
    expected = xorpay.notify_sign(
        aoid=fields["aoid"],
        order_id=fields["order_id"],
        pay_price=fields["pay_price"],
        pay_time=fields["pay_time"],
        secret=app_secret,
    )
    if not xorpay.signature_matches(expected, fields["sign"]):
        return _reject(session, Verdict.BAD_SIGNATURE, fields, ip)
    order = _order(session, fields["order_id"], lock=True)
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
    return Outcome(Verdict.CREDITED, order, movement.balance_after)


def confirm_paid(session: Session, *, order_id: str) -> Outcome:
    """The gateway says (query2) the order was paid but no notification came: credit it once."""
    order = _order(session, order_id, lock=True)
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


def expire(session: Session, *, order_id: str) -> bool:
    """Pending -> expired (guarded: a paid order stays paid); whether it changed."""
    changed = session.execute(
        update(PaymentTransaction)
        .where(
            col(PaymentTransaction.order_id) == order_id,
            col(PaymentTransaction.status) == PaymentStatus.PENDING.value,
        )
        .values(status=PaymentStatus.EXPIRED.value, updated_at=utcnow())
        .returning(col(PaymentTransaction.user_id)),
        execution_options={"synchronize_session": False},
    ).first()
    if changed is None:
        return False
    audit.record(
        session, action=Action.PAYMENT_EXPIRED, actor_user_id=changed.user_id, target=order_id
    )
    return True


def pending(session: Session, *, older_than: timedelta | None = None) -> list[PaymentTransaction]:
    """Pending orders, oldest first; only those created more than `older_than` ago if given."""
    statement = select(PaymentTransaction).where(
        col(PaymentTransaction.status) == PaymentStatus.PENDING.value
    )
    if older_than is not None:
        statement = statement.where(col(PaymentTransaction.created_at) < utcnow() - older_than)
    return list(session.execute(statement.order_by(col(PaymentTransaction.created_at))).scalars())


@dataclass
class Reconciliation:
    """What one reconciliation round found and did."""

    checked: int = 0
    credited: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (order id, why)
    changes: list[Change] = field(default_factory=list)  # for the owners' open pages


def reconcile(client: xorpay.XorPayClient, *, older_than: timedelta | None) -> Reconciliation:
    """Ask the gateway about pending orders: credit the paid, expire the dead. Own transactions."""
    report = Reconciliation()
    for order in db.call_read(pending, older_than=older_than):
        report.checked += 1
        try:
            answer = client.query(order.order_id)
        except xorpay.GatewayError as exc:
            report.failed.append((order.order_id, str(exc)))
            continue
        if answer in {"payed", "success"}:
            change = db.call(confirm_paid, order_id=order.order_id).change
            if change is not None:
                report.credited.append(order.order_id)
                report.changes.append(change)
        elif (answer == "expire" or order.expires_at < utcnow()) and db.call(
            expire, order_id=order.order_id
        ):
            report.expired.append(order.order_id)
            report.changes.append(
                Change(order.user_id, order.order_id, PaymentStatus.EXPIRED.value)
            )
    return report


def recent(session: Session, *, user_id: int, limit: int = 20) -> list[PaymentTransaction]:
    """The user's latest orders, newest first."""
    return list(
        session.execute(
            select(PaymentTransaction)
            .where(col(PaymentTransaction.user_id) == user_id)
            .order_by(col(PaymentTransaction.id).desc())
            .limit(limit)
        ).scalars()
    )


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
