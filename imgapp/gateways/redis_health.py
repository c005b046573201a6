"""Is Redis answering: one PING with short timeouts, for `/api/health/ready`."""

from __future__ import annotations

import redis
from redis.exceptions import RedisError


class RedisUnreachable(Exception):
    """Redis did not answer PING."""


def ping(url: str, *, timeout: float) -> None:
    """PING the Redis at `url`; `RedisUnreachable` (naming no secret) when it does not answer."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        if not client.ping():
            raise RedisUnreachable("PING was not answered")
    except RedisError as exc:
        # The error's text may carry the URL (with its password): keep only its kind.
        msg = f"no answer ({type(exc).__name__})"
        raise RedisUnreachable(msg) from exc
    finally:
        client.close()
