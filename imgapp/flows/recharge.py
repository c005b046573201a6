"""Recharge steps the API, the page and the reconciler share: opening, re-sending, announcing.

The order is written first (pending, unconfirmed), then the gateway is asked
for it outside any database transaction, then its answer is recorded. A
gateway that does not answer leaves the order pending for a retry with the
same order id, so one order can never be paid twice.
"""

from __future__ import annotations

import logging

from imgapp.core import db, events
from imgapp.core.settings import get_settings
from imgapp.gateways import payment as payment_gateway
from imgapp.gateways import xorpay
from imgapp.models import PaymentStatus, PaymentTransaction
from imgapp.services import payments
from imgapp.services.errors import PaymentGatewayFailed

log = logging.getLogger(__name__)


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
    except xorpay.GatewayError as exc:
        log.warning("gateway did not take order %s: %s", order.order_id, exc)
        db.call(payments.record_refused, order_id=order.order_id, error=exc)
        raise PaymentGatewayFailed(
            gateway_status=exc.status,
            key=exc.message_key,
            order_id=order.order_id,
            retryable=isinstance(exc, xorpay.GatewayUnreachable),
        ) from exc
    return db.call(payments.record_created, order_id=order.order_id, created=created)


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


def announce(change: payments.Change | None) -> None:
    """Tell the owner's open pages that an order changed (paid: with the new balance)."""
    if change is None:
        return
    data: dict[str, object] = {"order_id": change.order_id, "status": change.status}
    if change.balance is not None:
        data["balance"] = change.balance
    events.publish(events.Event("payment", change.user_id, data))
