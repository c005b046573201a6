"""Recharge orders: opening one, recording the gateway's answer, expiring, listing.

An order is written `pending` and unconfirmed before the gateway is called
(`open_order`), then marked with the gateway's answer (`record_created`,
`record_refused`, `record_unanswered`); one that got no answer stays pending
and can be sent again with the same order id, so it can never be paid twice.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session, col

from imgapp.models import PaymentStatus, PaymentTransaction
from imgapp.models.base import utcnow
from imgapp.services import audit
from imgapp.services.audit import Action
from imgapp.services.errors import NotFound

UNANSWERED = "unreachable"  # what an order the gateway never answered notes as its error


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


def find(session: Session, order_id: str, *, lock: bool = False) -> PaymentTransaction | None:
    """The order with this id, if any; `lock` holds its row until the transaction ends."""
    statement = select(PaymentTransaction).where(col(PaymentTransaction.order_id) == order_id)
    if lock:
        statement = statement.with_for_update()  # PostgreSQL; SQLite: BEGIN IMMEDIATE
    return session.execute(statement).scalar_one_or_none()


def get_order(session: Session, *, order_id: str, user_id: int | None = None) -> PaymentTransaction:
    """The order; `NotFound` when there is none, or it belongs to someone else."""
    order = find(session, order_id)
    if order is None or (user_id is not None and order.user_id != user_id):
        raise NotFound
    return order


def record_created(
    session: Session, *, order_id: str, aoid: str, qr: str, expires_in: int
) -> PaymentTransaction:
    """The gateway took the order: keep its id (`aoid`), the QR content and the expiry it gave."""
    order = get_order(session, order_id=order_id)
    now = utcnow()
    order.confirmed = True
    order.gateway_error = ""
    order.aoid = aoid[:64]
    order.qr = qr[:1024]
    if expires_in > 0:
        order.expires_at = min(order.expires_at, now + timedelta(seconds=expires_in))
    order.updated_at = now
    session.flush()
    return order


def record_refused(
    session: Session, *, order_id: str, gateway_status: str, info: object = None
) -> None:
    """The gateway refused the order: it fails, noting the gateway's word for why."""
    order = get_order(session, order_id=order_id)
    order.gateway_error = gateway_status[:64]
    order.updated_at = utcnow()
    if order.status == PaymentStatus.PENDING:
        order.status = PaymentStatus.FAILED.value
        audit.record(
            session,
            action=Action.PAYMENT_REFUSED,
            actor_user_id=order.user_id,
            target=order.order_id,
            details={"gateway_status": gateway_status, "info": str(info or "")[:255]},
        )
    session.flush()


def record_unanswered(session: Session, *, order_id: str) -> None:
    """The gateway gave no usable answer: the order stays pending, to be sent again."""
    order = get_order(session, order_id=order_id)
    order.gateway_error = UNANSWERED
    order.updated_at = utcnow()
    session.flush()


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
