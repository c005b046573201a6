"""Recharge, one function per action: create, retry, notify, reconcile, and announce.

The order is written first (pending, unconfirmed), then the gateway is asked
for it outside any database transaction, then its answer is recorded. A
gateway that does not answer leaves the order pending for a retry with the
same order id, so one order can never be paid twice. A notification is
checked against the gateway's signature here and credited by the payments
service; reconciliation asks the gateway about pending orders and settles
them through the same service. Each credit is announced with the balance after,
and every committed outcome is counted (`imgapp_payments_total{outcome}`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from imgapp.core import db, events, metrics
from imgapp.core.settings import get_settings
from imgapp.flows import invites as invite_flow
from imgapp.gateways import payment as payment_gateway
from imgapp.gateways import xorpay
from imgapp.models import PaymentStatus, PaymentTransaction
from imgapp.models.base import utcnow
from imgapp.services import payments
from imgapp.services.errors import PaymentGatewayFailed

log = logging.getLogger(__name__)

# Outcomes counted in `imgapp_payments_total`.
PAID, LATE, EXPIRED, REFUSED, UNANSWERED, REJECTED = (
    "paid",
    "late",
    "expired",
    "refused",
    "unanswered",
    "rejected",
)


def _send(order: PaymentTransaction, gateway: payment_gateway.Gateway) -> PaymentTransaction:
    """Ask the gateway for the order (again), record its answer; raise if it did not take it."""
    pay_type = payments.PAY_TYPES[order.pay_type]
    settings = get_settings()
    try:
        created = gateway.client.create(
            name=f"imgapp {order.credits} credits",
            pay_type=pay_type.gateway_name,
            price=payments.format_fen(order.amount_fen),
            order_id=order.order_id,
            notify_url=gateway.notify_url,
            order_uid=str(order.user_id),
            expire=settings.payment_expire_seconds,
        )
    except xorpay.GatewayUnreachable as exc:
        log.warning("gateway did not answer for order %s: %s", order.order_id, exc)
        db.call(payments.record_unanswered, order_id=order.order_id)
        metrics.record_payment(UNANSWERED)
        raise _failed(exc, order, retryable=True) from exc
    except xorpay.GatewayError as exc:
        log.warning("gateway refused order %s: %s", order.order_id, exc)
        db.call(
            payments.record_refused,
            order_id=order.order_id,
            gateway_status=exc.status,
            info=exc.info,
        )
        metrics.record_payment(REFUSED)
        raise _failed(exc, order, retryable=False) from exc
    return db.call(
        payments.record_created,
        order_id=order.order_id,
        aoid=created.aoid,
        qr=created.qr,
        expires_in=created.expires_in,
    )


def _failed(
    exc: xorpay.GatewayError, order: PaymentTransaction, *, retryable: bool
) -> PaymentGatewayFailed:
    return PaymentGatewayFailed(
        gateway_status=exc.status,
        key=exc.message_key,
        order_id=order.order_id,
        retryable=retryable,
    )


def create_order(
    user_id: int, amount: object, pay_type: object, ip: str = ""
) -> PaymentTransaction:
    """Validate, open the order, ask the gateway for it; `PaymentGatewayFailed` if not taken."""
    settings = get_settings()
    fen, kind, credits = payments.check_order(
        amount, pay_type, credit_price_fen=settings.credit_price_fen
    )
    gateway = payment_gateway.configured(settings)
    order = db.call(
        payments.open_order,
        user_id=user_id,
        amount_fen=fen,
        pay_type_name=kind.name,
        credits=credits,
        provider=gateway.provider,
        expire_seconds=settings.payment_expire_seconds,
        ip=ip,
    )
    return _send(order, gateway)


def retry_order(user_id: int, order_id: str) -> PaymentTransaction:
    """Send a pending order the gateway never confirmed again (same order id)."""
    order = db.call_read(payments.get_order, order_id=order_id, user_id=user_id)
    if order.status != PaymentStatus.PENDING or order.confirmed:
        return order  # nothing to retry: the page shows what it is
    return _send(order, payment_gateway.configured())


def notify(
    fields: dict[str, str], *, ip: str = "", app_secret: str | None = None
) -> payments.Outcome:
    """A gateway notification: check its signature, credit its order once, announce a credit.

    `app_secret` defaults to the configured gateway's.
    """
    if app_secret is None:
        app_secret = payment_gateway.configured().client.app_secret
    outcome = db.call(
        payments.handle_notification,
        fields=fields,
        authentic=xorpay.notification_authentic(fields, secret=app_secret),
        ip=ip,
    )
    _count(outcome)
    announce(outcome.change)
    invite_flow.announce_reward(outcome.reward)
    return outcome


def _count(outcome: payments.Outcome) -> None:
    """Count a committed notification or confirmation (a replay counts nothing)."""
    if outcome.verdict == payments.Verdict.CREDITED:
        metrics.record_payment(LATE if outcome.late else PAID)
    elif not outcome.accepted:
        metrics.record_payment(REJECTED)


@dataclass
class Reconciliation:
    """What one reconciliation round found and did."""

    checked: int = 0
    credited: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (order id, why)
    changes: list[payments.Change] = field(default_factory=list)  # announced to open pages


def reconcile(
    *, older_than: timedelta | None, client: xorpay.XorPayClient | None = None
) -> Reconciliation:
    """Ask the gateway (query2) about pending orders: credit the paid once, expire the dead.

    One transaction per order, none held while the gateway is asked. `client`
    defaults to the configured gateway's.
    """
    client = client or payment_gateway.configured().client
    report = Reconciliation()
    for order in db.call_read(payments.pending, older_than=older_than):
        report.checked += 1
        try:
            answer = client.query(order.order_id)
        except xorpay.GatewayError as exc:
            report.failed.append((order.order_id, str(exc)))
            continue
        change: payments.Change | None = None
        if answer in {"payed", "success"}:
            confirmed = db.call(payments.confirm_paid, order_id=order.order_id)
            _count(confirmed)
            change = confirmed.change
            invite_flow.announce_reward(confirmed.reward)
            if change is not None:
                report.credited.append(order.order_id)
        elif (answer == "expire" or order.expires_at < utcnow()) and db.call(
            payments.expire, order_id=order.order_id
        ):
            report.expired.append(order.order_id)
            metrics.record_payment(EXPIRED)
            change = payments.Change(order.user_id, order.order_id, PaymentStatus.EXPIRED.value)
        if change is not None:
            report.changes.append(change)
            announce(change)
    return report


def announce(change: payments.Change | None) -> None:
    """Tell the owner's open pages that an order changed (paid: with the new balance)."""
    if change is None:
        return
    data: dict[str, object] = {"order_id": change.order_id, "status": change.status}
    if change.balance is not None:
        data["balance"] = change.balance
    events.publish(events.Event("payment", change.user_id, data))
