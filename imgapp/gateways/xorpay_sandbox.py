"""The offline sandbox gateway: XorPay's protocol, served by this app under /api/sandbox/xorpay.

`POST pay/{aid}`, `GET query2/{aid}` and `POST refund/{aoid}` answer as XorPay
does and check the same signatures (with the sandbox merchant's secret). The
QR content of an order is this sandbox's checkout page; pressing "pay" there
POSTs a correctly signed notification to the order's `notify_url`, the real
webhook, so offline recharges run imgapp's production code path end to end.
Orders live in Redis when the deployment has it (any app process serves any
order), else in this process's memory (`xorpay_sandbox_orders`).
Every route answers 404 when XorPay is configured or in production.
"""

from __future__ import annotations

import html
import json
import secrets
import time
from datetime import UTC, datetime

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

from imgapp.core.settings import get_settings
from imgapp.gateways import payment as payment_gateway
from imgapp.gateways import xorpay, xorpay_sandbox_orders
from imgapp.gateways.xorpay_sandbox_orders import OrderStore, SandboxOrder
from imgapp.services import payments
from imgapp.services.errors import ValidationFailed

router = APIRouter(prefix=payment_gateway.SANDBOX_PATH, include_in_schema=False)

_DEFAULT_EXPIRE_SECONDS = 7200
_NOTIFY_TIMEOUT_SECONDS = 15.0


def _enabled() -> str:
    """The sandbox secret, or 404 when the sandbox is not the gateway in use."""
    settings = get_settings()
    gateway = payment_gateway.configured(settings)
    if settings.is_production or not gateway.is_sandbox:
        raise HTTPException(status_code=404, detail="Not Found")
    return gateway.client.app_secret


def _checkout_path(aoid: str) -> str:
    return f"{payment_gateway.SANDBOX_PATH}/checkout/{html.escape(aoid)}"


def _orders() -> OrderStore:
    return xorpay_sandbox_orders.store(get_settings().redis_url)


@router.post("/pay/{aid}")
async def create(aid: str, request: Request) -> JSONResponse:  # noqa: PLR0911 - one per refusal
    """XorPay's create call."""
    secret = _enabled()
    form = {k: str(v) for k, v in (await request.form()).items()}
    if aid != payment_gateway.SANDBOX_AID:
        return JSONResponse({"status": "aid_not_exist"})
    needed = ("name", "pay_type", "price", "order_id", "notify_url", "sign")
    if any(not form.get(k) for k in needed):
        return JSONResponse({"status": "missing_argument"})
    if form["pay_type"] not in {"alipay", "native"}:
        return JSONResponse({"status": "pay_type_error"})
    expected = xorpay.create_sign(
        name=form["name"],
        pay_type=form["pay_type"],
        price=form["price"],
        order_id=form["order_id"],
        notify_url=form["notify_url"],
        secret=secret,
    )
    if not xorpay.signature_matches(expected, form["sign"]):
        return JSONResponse({"status": "sign_error"})
    expire = int(form["expire"]) if form.get("expire", "").isdigit() else _DEFAULT_EXPIRE_SECONDS
    order = await _orders().add(
        SandboxOrder(
            order_id=form["order_id"],
            aoid="sbx" + secrets.token_hex(8),
            name=form["name"],
            pay_type=form["pay_type"],
            price=form["price"],
            notify_url=form["notify_url"],
            more=form.get("more", ""),
            expires_at=time.time() + expire,
        )
    )
    if (order.price, order.pay_type) != (form["price"], form["pay_type"]):
        return JSONResponse({"status": "order_exist"})
    if order.paid_at:
        return JSONResponse({"status": "order_payed"})
    checkout = (
        f"{get_settings().site_url.rstrip('/')}{payment_gateway.SANDBOX_PATH}/checkout/{order.aoid}"
    )
    return JSONResponse(
        {
            "status": "ok",
            "aoid": order.aoid,
            "expires_in": max(0, int(order.expires_at - time.time())),
            "info": {"qr": checkout},
        }
    )


@router.get("/query2/{aid}")
async def query2(aid: str, order_id: str = "", sign: str = "") -> JSONResponse:
    """XorPay's query2 call."""
    secret = _enabled()
    if aid != payment_gateway.SANDBOX_AID:
        return JSONResponse({"status": "aid_not_exist"})
    if not xorpay.signature_matches(xorpay.query2_sign(order_id=order_id, secret=secret), sign):
        return JSONResponse({"status": "sign_error"})
    order = await _orders().get(order_id)
    if order is None:
        return JSONResponse({"status": "not_exist"})
    if order.paid_at:
        return JSONResponse({"status": "payed"})
    return JSONResponse({"status": "expire" if time.time() > order.expires_at else "new"})


@router.post("/refund/{aoid}")
async def refund(aoid: str, request: Request) -> JSONResponse:
    """XorPay's refund call."""
    secret = _enabled()
    form = {k: str(v) for k, v in (await request.form()).items()}
    price = form.get("price", "")
    if not xorpay.signature_matches(
        xorpay.refund_sign(price=price, secret=secret), form.get("sign", "")
    ):
        return JSONResponse({"status": "sign_error"})
    order = await _orders().by_aoid(aoid)
    if order is None or not order.paid_at:
        return JSONResponse({"status": "order_error"})
    asked = _fen(price)
    if asked is None or asked <= 0:
        return JSONResponse({"status": "price_error"})
    if not await _orders().add_refund(order, asked, _fen(order.price) or 0):
        return JSONResponse({"status": "price_error"})
    return JSONResponse({"status": "ok"})


def _fen(price: str) -> int | None:
    try:
        return payments.parse_amount(price)
    except ValidationFailed:
        return None


_VIA = {"alipay": "支付宝 Alipay", "native": "微信 WeChat"}
_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox checkout · 沙箱收银台</title>
<style>
 body {{ font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto;
        padding: 0 1rem; }}
 .badge {{ display: inline-block; background: #fde68a; color: #78350f; padding: .2rem .6rem;
          border-radius: .4rem; font-weight: 600; }}
 .amount {{ font-size: 2.2rem; margin: 1rem 0; }}
 dl {{ display: grid; grid-template-columns: auto 1fr; gap: .3rem 1rem; color: #444; }}
 button {{ font-size: 1.1rem; padding: .7rem 1.6rem; border-radius: .5rem; border: 0;
          background: #1677ff; color: white; cursor: pointer; }}
 .note {{ color: #666; font-size: .9rem; }}
</style></head>
<body>
<p><span class="badge" id="sandbox-badge">SANDBOX · 沙箱</span></p>
<p class="note">No real money moves here. 这里不会真实扣款。</p>
{body}
</body></html>"""


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(body=body), status_code=status)


@router.get("/checkout/{aoid}")
async def checkout(aoid: str) -> HTMLResponse:
    """What scanning the QR code opens: the order and a pay button."""
    _enabled()
    order = await _orders().by_aoid(aoid)
    if order is None:
        return _page("<p id='checkout-state'>Unknown order. 订单不存在。</p>", 404)
    facts = (
        f"<p class='amount' id='checkout-amount'>¥ {html.escape(order.price)}</p>"
        f"<dl><dt>商品 Item</dt><dd>{html.escape(order.name)}</dd>"
        f"<dt>订单号 Order</dt><dd id='checkout-order'>{html.escape(order.order_id)}</dd>"
        f"<dt>方式 Via</dt><dd>{_VIA.get(order.pay_type, order.pay_type)}</dd></dl>"
    )
    if order.paid_at:
        return _page(facts + "<p id='checkout-state'>Paid. 已支付。</p>")
    if time.time() > order.expires_at:
        return _page(facts + "<p id='checkout-state'>Expired. 已过期。</p>")
    form = (
        f"<form method='post' action='{_checkout_path(aoid)}/pay'>"
        "<button id='checkout-pay' type='submit'>Pay (sandbox) · 确认支付</button></form>"
    )
    return _page(facts + form)


@router.post("/checkout/{aoid}/pay")
async def pay(aoid: str) -> HTMLResponse:
    """Pay the order and notify the webhook, signed as XorPay signs."""
    secret = _enabled()
    order = await _orders().by_aoid(aoid)
    if order is None:
        return _page("<p id='checkout-state'>Unknown order. 订单不存在。</p>", 404)
    if time.time() > order.expires_at and not order.paid_at:
        return _page("<p id='checkout-state'>Expired. 已过期。</p>", 409)
    order.paid_at = await _orders().mark_paid(
        order, datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    )
    fields = {
        "aoid": order.aoid,
        "order_id": order.order_id,
        "pay_price": order.price,
        "pay_time": order.paid_at,
        "more": order.more,
        "detail": json.dumps(
            {"transaction_id": f"sandbox-{order.aoid}", "bank_type": "SANDBOX", "buyer": "sandbox"}
        ),
    }
    fields["sign"] = xorpay.notify_sign(
        aoid=order.aoid,
        order_id=order.order_id,
        pay_price=order.price,
        pay_time=order.paid_at,
        secret=secret,
    )
    try:
        async with httpx.AsyncClient(timeout=_NOTIFY_TIMEOUT_SECONDS) as http:
            answer = await http.post(order.notify_url, data=fields)
    except httpx.HTTPError as exc:
        return _page(
            f"<p id='checkout-state'>Paid, but the shop did not answer ({type(exc).__name__}). "
            "已支付，但商户未响应；对账任务会补上。</p>",
            502,
        )
    if answer.status_code != 200:  # noqa: PLR2004
        return _page(
            f"<p id='checkout-state'>Paid, but the shop answered HTTP {answer.status_code}. "
            "已支付，但商户返回错误。</p>",
            502,
        )
    return _page(
        f"<p class='amount'>¥ {html.escape(order.price)}</p>"
        "<p id='checkout-state'>Paid. You can close this tab. 支付成功，可以关闭此页。</p>"
    )


def reset() -> None:
    """Forget the sandbox orders kept in this process (tests)."""
    xorpay_sandbox_orders.forget_memory_orders()
