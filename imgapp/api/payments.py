"""`/api/payments/*`: create a recharge order, look at one, retry one, and the gateway's webhook.

The order is written before the gateway is called and marked with its answer
after; the gateway call itself holds no database transaction. The webhook
takes XorPay's form-encoded notification, answers `success` (200) once the
order is credited or was already, 400 for anything forged, unknown or not
adding up (audited with the source IP), and 500 only when our own storage
failed, so that XorPay tries again. The user's routes take the session or
an API key (`pay` to create and retry, `read` to look).
"""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from imgapp.api.deps import ClientDep, PayCaller, ReadCaller
from imgapp.api.responses import request_lang
from imgapp.core import db
from imgapp.flows import recharge
from imgapp.models import PaymentTransaction
from imgapp.services import payments
from imgapp.services.errors import PaymentGatewayFailed, ValidationFailed, describe

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/payments", tags=["payments"])


class CreateIn(BaseModel):
    """A recharge: how much (yuan, as a string) and how to pay."""

    # Typed loosely on purpose: a number (say 12.5) gets the service's message
    # ("send a string like "50.00"") instead of a generic type error.
    amount: str | int | float = Field(
        examples=["50.00"], description="CNY as a string, at most two decimals"
    )
    pay_type: str = Field(examples=["alipay"], description="alipay or wechat")


class OrderOut(BaseModel):
    """A recharge order as its owner sees it."""

    order_id: str
    status: str
    amount: str = Field(description="CNY, two decimals")
    credits: int
    pay_type: str
    provider: str = Field(description="xorpay, or sandbox (no real money)")
    confirmed: bool = Field(description="whether the gateway took the order")
    qr: str = Field(description="the gateway's info.qr, to render as a QR code")
    expires_at: datetime
    paid_at: datetime | None
    created_at: datetime
    gateway_error: str


def order_out(order: PaymentTransaction) -> OrderOut:
    """An order as the API shows it."""
    return OrderOut(
        order_id=order.order_id,
        status=order.status,
        amount=payments.format_fen(order.amount_fen),
        credits=order.credits,
        pay_type=order.pay_type,
        provider=order.provider,
        confirmed=order.confirmed,
        qr=order.qr,
        expires_at=order.expires_at,
        paid_at=order.paid_at,
        created_at=order.created_at,
        gateway_error=order.gateway_error,
    )


def _gateway_failure(exc: PaymentGatewayFailed, request: Request) -> JSONResponse:
    public = describe(exc, request_lang(request))
    body = {
        "error": public.message,
        "code": public.code,
        "order_id": exc.order_id,
        "gateway_status": exc.gateway_status,
        "retryable": exc.retryable,
    }
    return JSONResponse(body, status_code=public.status)


@router.post(
    "/create",
    status_code=201,
    response_model=OrderOut,
    responses={
        400: {"description": "Bad amount or pay type"},
        401: {},
        502: {"description": "The gateway refused or did not answer (see `retryable`)"},
    },
)
async def create(
    body: CreateIn, request: Request, user: PayCaller, client: ClientDep
) -> JSONResponse:
    """Open a recharge order and get the QR content to pay it."""
    try:
        order = await run_in_threadpool(
            recharge.create_order, user.user_id, body.amount, body.pay_type, client.ip
        )
    except PaymentGatewayFailed as exc:
        return _gateway_failure(exc, request)
    return JSONResponse(order_out(order).model_dump(mode="json"), status_code=201)


@router.post(
    "/{order_id}/retry",
    response_model=OrderOut,
    responses={404: {}, 502: {"description": "Still no answer, or refused"}},
)
async def retry(order_id: str, request: Request, user: PayCaller) -> JSONResponse:
    """Send an order the gateway did not answer to again (same order id: never paid twice)."""
    try:
        order = await run_in_threadpool(recharge.retry_order, user.user_id, order_id)
    except PaymentGatewayFailed as exc:
        return _gateway_failure(exc, request)
    return JSONResponse(order_out(order).model_dump(mode="json"))


@router.get("/{order_id}", response_model=OrderOut, responses={404: {}})
def get_order(order_id: str, user: ReadCaller) -> OrderOut:
    """One of the user's orders (404 for anyone else's)."""
    return order_out(db.call_read(payments.get_order, order_id=order_id, user_id=user.user_id))


@router.get("", response_model=list[OrderOut])
def recent(user: ReadCaller, limit: int = 20) -> list[OrderOut]:
    """The user's latest orders, newest first (at most 100)."""
    found = db.call_read(payments.recent, user_id=user.user_id, limit=max(1, min(limit, 100)))
    return [order_out(o) for o in found]


@router.post(
    "/webhook",
    response_class=PlainTextResponse,
    responses={
        200: {"description": "`success`: credited now or before"},
        400: {"description": "Forged, unknown order, wrong amount or missing fields"},
        500: {"description": "Our storage failed: the gateway will retry"},
    },
)
async def webhook(request: Request, client: ClientDep) -> PlainTextResponse:
    """XorPay's payment notification (form-encoded, no session)."""
    try:
        form = await request.form()
    except Exception as exc:
        raise ValidationFailed("bad_request", "Send a form-encoded notification.") from exc
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    outcome = await run_in_threadpool(recharge.notify, fields, ip=client.ip)
    if not outcome.accepted:
        log.warning("notification rejected (%s) from %s", outcome.verdict.value, client.ip)
        return PlainTextResponse(f"fail: {outcome.verdict.value}", status_code=400)
    return PlainTextResponse("success")
