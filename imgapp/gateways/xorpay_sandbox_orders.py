"""Where the sandbox gateway keeps its orders: this process's memory, or Redis.

With `REDIS_URL` set the app may run as several processes behind nginx: an
order created through one of them is checked out, paid, queried and refunded
through any other (and the reconciliation job asks from a worker), so the
orders live in Redis, as hashes that expire a day after the order does.
Without Redis there is one backend process and a dict does. Both stores make
the two races a real gateway settles safe: paying twice keeps the first
payment time (HSETNX), and refunds never add up past the price.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

_KEY = "imgapp:sandbox:order:"
_AOID_KEY = "imgapp:sandbox:aoid:"
_KEEP_AFTER_EXPIRY_SECONDS = 86_400


@dataclass
class SandboxOrder:
    """One order as the sandbox merchant account sees it."""

    order_id: str
    aoid: str
    name: str
    pay_type: str
    price: str
    notify_url: str
    more: str
    expires_at: float
    paid_at: str = ""
    refunded_fen: int = 0


class OrderStore(Protocol):
    """What the sandbox routes need of their orders."""

    async def get(self, order_id: str) -> SandboxOrder | None:
        """The order with this merchant order id."""
        ...

    async def by_aoid(self, aoid: str) -> SandboxOrder | None:
        """The order with this gateway id."""
        ...

    async def add(self, order: SandboxOrder) -> SandboxOrder:
        """Store a new order; when its order id is taken already, the stored one."""
        ...

    async def mark_paid(self, order: SandboxOrder, paid_at: str) -> str:
        """Record the payment unless one is recorded; the payment time that stands."""
        ...

    async def add_refund(self, order: SandboxOrder, fen: int, limit_fen: int) -> bool:
        """Add a refund of `fen` unless the refunds would pass `limit_fen`."""
        ...


class MemoryOrderStore:
    """Orders in this process (one backend process, no Redis)."""

    def __init__(self) -> None:
        """An empty store."""
        self._orders: dict[str, SandboxOrder] = {}
        self._lock = threading.Lock()

    async def get(self, order_id: str) -> SandboxOrder | None:
        """The order with this merchant order id."""
        return self._orders.get(order_id)

    async def by_aoid(self, aoid: str) -> SandboxOrder | None:
        """The order with this gateway id."""
        return next((o for o in list(self._orders.values()) if o.aoid == aoid), None)

    async def add(self, order: SandboxOrder) -> SandboxOrder:
        """Store a new order; when its order id is taken already, the stored one."""
        with self._lock:
            return self._orders.setdefault(order.order_id, order)

    async def mark_paid(self, order: SandboxOrder, paid_at: str) -> str:
        """Record the payment unless one is recorded; the payment time that stands."""
        with self._lock:
            stored = self._orders[order.order_id]
            stored.paid_at = stored.paid_at or paid_at
            return stored.paid_at

    async def add_refund(self, order: SandboxOrder, fen: int, limit_fen: int) -> bool:
        """Add a refund of `fen` unless the refunds would pass `limit_fen`."""
        with self._lock:
            stored = self._orders[order.order_id]
            if stored.refunded_fen + fen > limit_fen:
                return False
            stored.refunded_fen += fen
            return True

    def clear(self) -> None:
        """Forget every order."""
        with self._lock:
            self._orders.clear()


class RedisOrderStore:
    """Orders in Redis, shared by every process of the deployment."""

    def __init__(self, url: str) -> None:
        """Orders in the Redis at `url`."""
        self._url = url

    def _client(self) -> aioredis.Redis:
        # One connection per call: the sandbox is not a hot path, and a client
        # made here never outlives the event loop that serves the request.
        return aioredis.Redis.from_url(self._url, decode_responses=True)

    async def get(self, order_id: str) -> SandboxOrder | None:
        """The order with this merchant order id."""
        async with self._client() as client:
            fields = await client.hgetall(_KEY + order_id)
        return _order_from(fields)

    async def by_aoid(self, aoid: str) -> SandboxOrder | None:
        """The order with this gateway id."""
        async with self._client() as client:
            order_id = await client.get(_AOID_KEY + aoid)
            fields = await client.hgetall(_KEY + order_id) if order_id else {}
        return _order_from(fields)

    async def add(self, order: SandboxOrder) -> SandboxOrder:
        """Store a new order; when its order id is taken already, the stored one."""
        key = _KEY + order.order_id
        keep = max(1, int(order.expires_at - time.time())) + _KEEP_AFTER_EXPIRY_SECONDS
        async with self._client() as client:
            # The order id is claimed first (HSETNX), so two creates cannot both win.
            if not await client.hsetnx(key, "order_id", order.order_id):
                stored = _order_from(await client.hgetall(key))
                return stored or order
            # Payment and refunds are recorded later, each by its own atomic command.
            fields = {
                k: str(v)
                for k, v in dataclasses.asdict(order).items()
                if k not in {"paid_at", "refunded_fen"}
            }
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=fields)
                pipe.expire(key, keep)
                pipe.set(_AOID_KEY + order.aoid, order.order_id, ex=keep)
                await pipe.execute()
        return order

    async def mark_paid(self, order: SandboxOrder, paid_at: str) -> str:
        """Record the payment unless one is recorded; the payment time that stands."""
        key = _KEY + order.order_id
        async with self._client() as client:
            await client.hsetnx(key, "paid_at", paid_at)
            return await client.hget(key, "paid_at") or paid_at

    async def add_refund(self, order: SandboxOrder, fen: int, limit_fen: int) -> bool:
        """Add a refund of `fen` unless the refunds would pass `limit_fen`."""
        key = _KEY + order.order_id
        async with self._client() as client:
            total = await client.hincrby(key, "refunded_fen", fen)
            if total > limit_fen:
                await client.hincrby(key, "refunded_fen", -fen)
                return False
        return True


def _order_from(fields: dict[str, str]) -> SandboxOrder | None:
    if not fields.get("aoid"):
        return None
    return SandboxOrder(
        order_id=fields["order_id"],
        aoid=fields["aoid"],
        name=fields["name"],
        pay_type=fields["pay_type"],
        price=fields["price"],
        notify_url=fields["notify_url"],
        more=fields.get("more", ""),
        expires_at=float(fields["expires_at"]),
        paid_at=fields.get("paid_at", ""),
        refunded_fen=int(fields.get("refunded_fen", "0")),
    )


_memory = MemoryOrderStore()


def store(redis_url: str | None) -> OrderStore:
    """Redis's store when the deployment has Redis, else this process's."""
    return RedisOrderStore(redis_url) if redis_url else _memory


def forget_memory_orders() -> None:
    """Forget the orders kept in this process (tests)."""
    _memory.clear()
