"""Pages that reconnect after their app process died keep their state (Reflex + Redis).

With Redis, Reflex's `RedisTokenManager` records which app process holds each
page's socket (`token_manager_socket_record_<token>`: instance id and socket
id, kept for `redis_token_expiration`, an hour). A process that is killed
(SIGKILL, out of memory, a crash) never deletes its records. When its pages
reconnect through nginx to another process, Reflex finds the leftover record,
takes the page for a second tab with the same token and hands it a new token:
a new, empty state, and the page stops following until it is reloaded.

So each app process keeps a subscription open in Redis on a channel named
after its instance (`imgapp:reflex_instance:<id>`): Redis counts it for as
long as the process's connection lives, and a killed process's connection is
closed by the kernel at once, so `PUBSUB NUMSUB` says at once whether the
process is there. Before Reflex links a socket, a record whose process has no
subscriber is deleted:
the page keeps its token and the state Redis still holds for it. A record of
a live process is left alone, so a real duplicate tab still gets a token of
its own. Nothing happens without Redis (one process, no records).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from reflex.utils.token_manager import RedisTokenManager

log = logging.getLogger(__name__)

_CHANNEL = "imgapp:reflex_instance:"
_RETRY_SECONDS = 1.0


def presence_channel(instance_id: str) -> str:
    """The channel an app process with this Reflex instance id listens on while it runs."""
    return _CHANNEL + instance_id


async def announce(manager: RedisTokenManager) -> None:
    """Hold the subscription on this process's channel until cancelled.

    Re-subscribed after Redis comes back, and when Reflex gives the process a
    new instance id (it does when its event processor starts).
    """
    while True:
        instance_id = manager.instance_id
        try:
            async with manager.redis.pubsub() as pubsub:
                await pubsub.subscribe(presence_channel(instance_id))
                while manager.instance_id == instance_id:
                    await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        except Exception as exc:  # noqa: BLE001 - Redis away: subscribe again soon
            log.warning("app process presence in Redis lost: %s", type(exc).__name__)
            await asyncio.sleep(_RETRY_SECONDS)


async def is_present(manager: RedisTokenManager, instance_id: str) -> bool:
    """Whether the app process with this instance id holds its presence subscription."""
    counts = await manager.redis.pubsub_numsub(presence_channel(instance_id))
    return any(count for _channel, count in counts)


async def forget_if_orphaned(manager: RedisTokenManager, token: str) -> bool:
    """Delete `token`'s socket record when the process that wrote it is gone; whether it was."""
    key = manager._get_redis_key(token)  # noqa: SLF001 - Reflex's own key for the record
    stored = await manager.redis.get(key)
    if stored is None:
        return False
    # Reflex writes these records itself (pickled SocketRecord) into our own Redis.
    owner = pickle.loads(stored).instance_id  # noqa: S301
    if owner == manager.instance_id or await is_present(manager, owner):
        return False
    await manager.redis.delete(key)
    log.info("socket record of a gone app process dropped; the page keeps its state")
    return True


def _guarded(
    manager: RedisTokenManager, link: Callable[[str, str], Awaitable[str | None]]
) -> Callable[[str, str], Awaitable[str | None]]:
    async def link_keeping_orphans_token(token: str, sid: str) -> str | None:
        try:
            await forget_if_orphaned(manager, token)
        except Exception as exc:  # noqa: BLE001 - never stand between a page and its socket
            log.warning("could not check a socket record: %s", type(exc).__name__)
        return await link(token, sid)

    return link_keeping_orphans_token


@contextlib.asynccontextmanager
async def keep_reconnecting_pages(app: Any) -> AsyncIterator[None]:
    """The Reflex lifespan task: be present in Redis; clear orphaned records before a link."""
    namespace = app.event_namespace
    manager = getattr(namespace, "_token_manager", None) if namespace is not None else None
    if not isinstance(manager, RedisTokenManager):
        yield
        return
    original = manager.link_token_to_sid
    manager.link_token_to_sid = _guarded(manager, original)  # type: ignore[method-assign]
    announcer = asyncio.create_task(announce(manager), name="imgapp-reflex-instance")
    try:
        yield
    finally:
        announcer.cancel()  # the subscription ends with it: this process's records are orphans
        manager.link_token_to_sid = original  # type: ignore[method-assign]
