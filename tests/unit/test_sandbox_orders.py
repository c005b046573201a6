"""The sandbox gateway's order stores: the same answers from memory and from a real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest

from imgapp.gateways import xorpay_sandbox_orders
from imgapp.gateways.xorpay_sandbox_orders import OrderStore, SandboxOrder


@pytest.fixture(params=["memory", "redis"])
def orders(request) -> Iterator[OrderStore]:
    if request.param == "redis":
        yield xorpay_sandbox_orders.store(request.getfixturevalue("redis_server").url)
    else:
        yield xorpay_sandbox_orders.store(None)
        xorpay_sandbox_orders.forget_memory_orders()


def _order(price: str = "10.00") -> SandboxOrder:
    return SandboxOrder(
        order_id=f"o-{uuid.uuid4().hex}",
        aoid=f"sbx{uuid.uuid4().hex[:16]}",
        name="1000 credits",
        pay_type="alipay",
        price=price,
        notify_url="http://127.0.0.1:1/api/payments/webhook",
        more="",
        expires_at=time.time() + 600,
    )


def test_an_order_is_found_by_either_id_and_a_second_create_keeps_the_first(orders):
    async def run() -> None:
        first = _order()
        assert await orders.add(first) == first
        again = SandboxOrder(**{**first.__dict__, "aoid": "sbxother", "price": "20.00"})
        assert (await orders.add(again)).aoid == first.aoid
        assert await orders.get(first.order_id) == first
        assert await orders.by_aoid(first.aoid) == first
        assert await orders.get("nobody") is None
        assert await orders.by_aoid("sbxnobody") is None

    asyncio.run(run())


def test_paying_at_once_from_many_places_keeps_one_payment_time(orders):
    async def run() -> None:
        order = await orders.add(_order())
        times = [f"2026-11-23 10:00:{i:02d}" for i in range(20)]
        standing = await asyncio.gather(*(orders.mark_paid(order, t) for t in times))
        assert len(set(standing)) == 1
        assert (await orders.get(order.order_id)).paid_at == standing[0]

    asyncio.run(run())


def test_refunds_racing_never_add_up_past_the_price(orders):
    async def run() -> None:
        order = await orders.add(_order("10.00"))
        granted = await asyncio.gather(*(orders.add_refund(order, 300, 1000) for _ in range(10)))
        assert granted.count(True) == 3
        assert (await orders.get(order.order_id)).refunded_fen == 900
        assert await orders.add_refund(order, 100, 1000)
        assert not await orders.add_refund(order, 1, 1000)

    asyncio.run(run())
