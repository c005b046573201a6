"""A page's socket record left by a gone app process is dropped; a live process's is kept."""

from __future__ import annotations

import asyncio
import pickle

import redis.asyncio as aioredis
from reflex.utils.token_manager import RedisTokenManager, SocketRecord

from imgapp.live import instances


def test_only_the_records_of_processes_without_presence_are_dropped(redis_server):
    async def run() -> None:
        client = aioredis.Redis.from_url(redis_server.url)
        here, elsewhere = RedisTokenManager(client), RedisTokenManager(client)
        key = here._get_redis_key("tab-token")

        async def record_of(owner: RedisTokenManager) -> None:
            await client.set(
                key, pickle.dumps(SocketRecord(instance_id=owner.instance_id, sid="sid-1"))
            )

        # The other process is running (it holds its presence subscription): kept.
        presence = asyncio.create_task(instances.announce(elsewhere))
        await asyncio.sleep(0.3)
        await record_of(elsewhere)
        assert not await instances.forget_if_orphaned(here, "tab-token")
        assert await client.exists(key)
        # This process's own record: kept.
        await record_of(here)
        assert not await instances.forget_if_orphaned(here, "tab-token")
        # The other process is gone (its connection closed): its record is dropped.
        await record_of(elsewhere)
        presence.cancel()
        await asyncio.sleep(0.3)
        assert await instances.forget_if_orphaned(here, "tab-token")
        assert not await client.exists(key)
        assert not await instances.forget_if_orphaned(here, "no-such-token")
        await client.aclose()

    asyncio.run(run())
