"""A XorPay-protocol server on loopback: create, query2 and refund, with real signatures.

It checks every signature with the merchant's secret (a wrong one answers
`sign_error`), refuses the same order id with other parameters (`order_exist`),
and can be told to misbehave: `mode` = "ok" (default), "timeout" (answers
after `delay` seconds), "http500", or any refusal word (answered as `status`).
`pay(order_id)` does what XorPay does after a payment: POSTs the signed
notification to the order's `notify_url` and returns the HTTP response.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from imgapp.gateways import xorpay
from tests.support.servers import ApiServer

AID = "loopback-aid"
SECRET = "loopback-app-secret-0123456789"


@dataclass
class FakeXorPay:
    """The gateway's orders, its behaviour switch and what it received."""

    aid: str = AID
    secret: str = SECRET
    mode: str = "ok"
    api_base: str = ""  # set once served
    delay: float = 0.0
    query_status: dict[str, str] = field(default_factory=dict)  # order_id -> forced answer
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def _misbehave(self) -> Response | None:
        if self.mode == "timeout":
            await asyncio.sleep(self.delay)
        if self.mode == "http500":
            return Response("upstream trouble", status_code=500)
        if self.mode not in {"ok", "timeout"}:
            return JSONResponse({"status": self.mode, "info": f"scripted {self.mode}"})
        return None

    async def pay_create(self, request: Request) -> Response:  # noqa: PLR0911 - one per refusal
        """`POST /pay/{aid}`."""
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.requests.append({"path": request.url.path, "form": form})
        if (odd := await self._misbehave()) is not None:
            return odd
        if request.path_params["aid"] != self.aid:
            return JSONResponse({"status": "aid_not_exist"})
        if any(not form.get(k) for k in ("name", "pay_type", "price", "order_id", "notify_url")):
            return JSONResponse({"status": "missing_argument"})
        if form["pay_type"] not in {"alipay", "native", "jsapi"}:
            return JSONResponse({"status": "pay_type_error"})
        expected = xorpay.create_sign(
            name=form["name"],
            pay_type=form["pay_type"],
            price=form["price"],
            order_id=form["order_id"],
            notify_url=form["notify_url"],
            secret=self.secret,
        )
        if form.get("sign") != expected:
            return JSONResponse({"status": "sign_error"})
        with self._lock:
            known = self.orders.get(form["order_id"])
            if known and (known["price"], known["pay_type"]) != (form["price"], form["pay_type"]):
                return JSONResponse({"status": "order_exist"})
            if known is None:
                known = self.orders[form["order_id"]] = {
                    **form,
                    "aoid": f"aoid{len(self.orders) + 1:06d}",
                    "paid": False,
                }
        return JSONResponse(
            {
                "status": "ok",
                "aoid": known["aoid"],
                "expires_in": int(form.get("expire") or 7200),
                "info": {"qr": f"https://qr.alipay.example/{known['aoid']}"},
            }
        )

    async def query2(self, request: Request) -> Response:
        """`GET /query2/{aid}?order_id=&sign=`."""
        order_id = request.query_params.get("order_id", "")
        self.requests.append({"path": request.url.path, "query": dict(request.query_params)})
        if (odd := await self._misbehave()) is not None:
            return odd
        if request.query_params.get("sign") != xorpay.query2_sign(
            order_id=order_id, secret=self.secret
        ):
            return JSONResponse({"status": "sign_error"})
        if order_id in self.query_status:
            return JSONResponse({"status": self.query_status[order_id]})
        known = self.orders.get(order_id)
        if known is None:
            return JSONResponse({"status": "not_exist"})
        return JSONResponse({"status": "payed" if known["paid"] else "new"})

    async def refund(self, request: Request) -> Response:
        """`POST /refund/{aoid}`."""
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.requests.append({"path": request.url.path, "form": form})
        if form.get("sign") != xorpay.refund_sign(price=form.get("price", ""), secret=self.secret):
            return JSONResponse({"status": "sign_error"})
        paid = [o for o in self.orders.values() if o["aoid"] == request.path_params["aoid"]]
        if not paid or not paid[0]["paid"]:
            return JSONResponse({"status": "order_error"})
        return JSONResponse({"status": "ok"})

    def notification(self, order_id: str, *, pay_price: str | None = None) -> dict[str, str]:
        """The signed form XorPay would POST for a payment of `order_id`."""
        known = self.orders[order_id]
        price = pay_price if pay_price is not None else known["price"]
        pay_time = "2026-11-22 12:00:00"
        return {
            "aoid": known["aoid"],
            "order_id": order_id,
            "pay_price": price,
            "pay_time": pay_time,
            "more": known.get("more", ""),
            "detail": json.dumps(
                {"transaction_id": f"tx-{known['aoid']}", "bank_type": "ALIPAY", "buyer": "b***@x"}
            ),
            "sign": xorpay.notify_sign(
                aoid=known["aoid"],
                order_id=order_id,
                pay_price=price,
                pay_time=pay_time,
                secret=self.secret,
            ),
        }

    def pay(self, order_id: str) -> httpx.Response:
        """Mark paid and notify the order's `notify_url`, as XorPay does."""
        self.orders[order_id]["paid"] = True
        return httpx.post(
            self.orders[order_id]["notify_url"], data=self.notification(order_id), timeout=30
        )

    def app(self) -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/api/pay/{aid}", self.pay_create, methods=["POST"]),
                Route("/api/query2/{aid}", self.query2, methods=["GET"]),
                Route("/api/refund/{aoid}", self.refund, methods=["POST"]),
                Route("/api/health", lambda _r: JSONResponse({"ok": True}), methods=["GET"]),
            ]
        )


def start(fake: FakeXorPay) -> tuple[ApiServer, str]:
    """Serve `fake` on loopback; (server, API base to configure)."""
    server = ApiServer(fake.app()).start()
    return server, server.url + "/api"
