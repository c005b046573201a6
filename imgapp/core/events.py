"""The event bus: flows publish what changed, the live bridge of every app process hears it.

`publish(event)` may be called from any thread or event loop, right after the
change committed. It does two things:

  * hands the event to this process's subscribers at once (each runs on the
    loop it subscribed from), exactly as the in-memory bus always did;
  * with a cross-process transport, queues it for one sender thread that
    keeps one connection open and sends every event in publish order, tagged
    with this process's origin id. Publishing never waits for the network.

Each app process runs `listen()` (the bridge's lifespan): it receives every
process's events and hands them to the local subscribers, skipping those
tagged with its own origin (already delivered locally): every subscriber
hears each event exactly once, and a page keeps its pushes when the broker is
away. Transports (`EVENT_BUS`, see `Settings.event_transport`):

  memory    this process only (the SQLite default; no listener)
  postgres  `pg_notify('imgapp_events', json)` on DATABASE_URL, LISTEN per app process.
            A payload of 8000 bytes or more cannot be sent: such an event travels
            as a reference (`Event.partial`: only its small fields, e.g. the task
            id and the balance) and the receiver reads the rest from the database.
  redis     PUBLISH/SUBSCRIBE `imgapp_events` on REDIS_URL (no size limit)

The listener reconnects with backoff when the connection drops and calls
`on_connected` after every (re)connect, so the bridge re-reads what may have
been missed meanwhile. Events themselves are not stored: the database is the
truth, the bus only says "look again now".
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy.engine import make_url

from imgapp.core.settings import Settings, get_settings

log = logging.getLogger(__name__)

CHANNEL = "imgapp_events"
# How the bus's connections name themselves (pg_stat_activity, CLIENT LIST).
LISTENER_NAME, SENDER_NAME = "imgapp-events-listen", "imgapp-events-send"
NOTIFY_LIMIT = 8000  # bytes: PostgreSQL refuses a NOTIFY payload this long or longer
_SHORT_TEXT = 64  # the longest text a reference keeps
_QUEUE_MAX = 10_000  # events waiting for the sender; beyond, new ones are dropped (and logged)
_BACKOFF_FIRST, _BACKOFF_MAX = 0.2, 5.0  # seconds between reconnect attempts


@dataclass(frozen=True)
class Event:
    """Something a user's open pages should show: `topic` is `task`, `payment`, `invite`, `session`.

    `partial`: the event was too large for the transport and arrived as a
    reference: `data` holds only its small fields; read the rest again.
    """

    topic: str
    user_id: int
    data: dict[str, object] = field(default_factory=dict)
    partial: bool = False
    # When it was published (wall clock, so it means the same in every process):
    # the push latency is measured from here.
    published_at: float = field(default_factory=time.time, compare=False, repr=False)


@dataclass(frozen=True)
class BusHealth:
    """Whether events can travel, for `/api/health/ready`."""

    ok: bool
    detail: str


Subscriber = Callable[[Event], Awaitable[None]]
_subscribers: list[tuple[asyncio.AbstractEventLoop, Subscriber]] = []


def subscribe(callback: Subscriber) -> Callable[[], None]:
    """Call `callback(event)` on the current loop for every event; returns an unsubscriber."""
    entry = (asyncio.get_running_loop(), callback)
    _subscribers.append(entry)
    return lambda: _subscribers.remove(entry) if entry in _subscribers else None


def _deliver(loop: asyncio.AbstractEventLoop, callback: Subscriber, event: Event) -> None:
    task = loop.create_task(callback(event))
    task.add_done_callback(
        lambda t: (
            log.error("event subscriber failed", exc_info=t.exception())
            if not t.cancelled() and t.exception()
            else None
        )
    )


def _deliver_here(event: Event) -> None:
    for loop, callback in _subscribers.copy():  # a copy: subscribers may come and go
        if not loop.is_closed():
            loop.call_soon_threadsafe(_deliver, loop, callback, event)


def is_heard() -> bool:
    """Whether a published event can reach anyone: a subscriber here, or other processes.

    What decides whether to build an event at all: a standalone worker has no
    subscribers but, with a cross-process bus, the app processes hear it.
    """
    return bool(_subscribers) or configured_bus() is not None


def health() -> BusHealth:
    """Whether events reach other processes, for readiness.

    In-process delivery cannot fail; a bus's listener reports whether it is
    connected (a process that does not listen, such as a standalone worker or a
    test server without the app's lifespan, only sends).
    """
    bus = configured_bus()
    if bus is None:
        return BusHealth(ok=True, detail="memory: in-process")
    listening = _state.get("listening")
    if listening is None:
        return BusHealth(ok=True, detail=f"{bus.name}: sending (no listener in this process)")
    if listening:
        return BusHealth(ok=True, detail=f"{bus.name}: listening")
    return BusHealth(ok=False, detail=f"{bus.name}: connection lost, reconnecting")


def publish(event: Event) -> None:
    """Hand `event` to every subscriber here at once and to the bus, from any thread."""
    _deliver_here(event)
    bus = configured_bus()
    if bus is None:
        return
    try:
        payload = encode(event, origin(), limit=bus.limit)
    except (TypeError, ValueError):
        log.exception("event %s for user %s cannot be encoded", event.topic, event.user_id)
        return
    _sender_for(bus).put(payload)


# ---------------------------------------------------------------- the wire format


def _to_json(value: object) -> object:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, set | frozenset):
        return sorted(value)
    msg = f"{type(value).__name__} is not JSON"
    raise TypeError(msg)


def _from_json(obj: dict[str, Any]) -> object:
    if len(obj) == 1:
        if "$dt" in obj:
            return datetime.fromisoformat(obj["$dt"])
        if "$date" in obj:
            return date.fromisoformat(obj["$date"])
    return obj


def _dump(message: dict[str, object]) -> str:
    return json.dumps(message, default=_to_json, ensure_ascii=False, separators=(",", ":"))


def _small(value: object) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and len(value) <= _SHORT_TEXT


def encode(event: Event, origin: str, *, limit: int | None = None) -> str:
    """The event as JSON; over `limit` bytes, a reference (its small fields, `partial`)."""
    message: dict[str, object] = {
        "o": origin,
        "t": event.topic,
        "u": event.user_id,
        "a": event.published_at,
    }
    payload = _dump({**message, "d": event.data, **({"p": 1} if event.partial else {})})
    if limit is None or len(payload.encode()) < limit:
        return payload
    small = {k: v for k, v in event.data.items() if _small(v)}
    payload = _dump({**message, "d": small, "p": 1})
    if len(payload.encode()) < limit:
        return payload
    return _dump({**message, "d": {}, "p": 1})  # a topic and a user: re-read everything


def decode(payload: str | bytes) -> tuple[str, Event]:
    """The origin and the event of a received payload (ValueError/KeyError when malformed)."""
    message = json.loads(payload, object_hook=_from_json)
    data = message.get("d") or {}
    if not isinstance(data, dict):
        msg = "event data is not an object"
        raise TypeError(msg)
    event = Event(
        str(message["t"]),
        int(message["u"]),
        data,
        partial=bool(message.get("p")),
        published_at=float(message.get("a") or time.time()),
    )
    return str(message.get("o") or ""), event


# ---------------------------------------------------------------- transports


class Bus(Protocol):
    """A cross-process transport: send from the sender thread, receive on an event loop."""

    name: str
    limit: int | None  # the largest payload in bytes (exclusive), None: no limit

    def send(self, payload: str) -> None:
        """Send one payload (blocking; only the sender thread calls it)."""

    def reset(self) -> None:
        """Drop the sending connection (the next send opens a new one)."""

    def messages(self) -> AsyncIterator[str | None]:
        """Subscribe; yield None once subscribed, then each payload. Raises when it drops."""


_KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def libpq_dsn(url: str) -> str:
    """A libpq URL for a SQLAlchemy PostgreSQL URL (`postgresql+psycopg://` -> `postgresql://`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresBus:
    """NOTIFY/LISTEN on the application database (psycopg 3)."""

    name = "postgres"
    limit: int | None = NOTIFY_LIMIT
    health_seconds = 15.0  # an idle listener checks its connection this often

    def __init__(self, database_url: str) -> None:
        """Send and listen on this database."""
        self.dsn = libpq_dsn(database_url)
        self._conn: Any = None

    def send(self, payload: str) -> None:
        """`pg_notify` on one autocommit connection of its own: never a caller's transaction."""
        import psycopg  # noqa: PLC0415 - only processes on PostgreSQL need it

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.dsn,
                autocommit=True,
                connect_timeout=5,
                application_name=SENDER_NAME,
                **_KEEPALIVE,
            )
        self._conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    def reset(self) -> None:
        """Close the sending connection."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    async def messages(self) -> AsyncIterator[str | None]:
        """LISTEN on a connection of its own; a terminated backend ends it with an error."""
        import psycopg  # noqa: PLC0415

        conn = await psycopg.AsyncConnection.connect(
            self.dsn,
            autocommit=True,
            connect_timeout=5,
            application_name=LISTENER_NAME,
            **_KEEPALIVE,
        )
        async with conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            yield None
            while True:
                async for notify in conn.notifies(timeout=self.health_seconds):
                    yield notify.payload
                await conn.execute("SELECT 1")  # idle: prove the connection is still there


class RedisBus:
    """PUBLISH/SUBSCRIBE on REDIS_URL (redis-py)."""

    name = "redis"
    limit: int | None = None
    health_seconds = 15

    def __init__(self, redis_url: str) -> None:
        """Send and listen on this server."""
        self.url = redis_url
        self._client: Any = None

    def send(self, payload: str) -> None:
        """PUBLISH on a client of its own (one pooled connection, reused)."""
        import redis  # noqa: PLC0415 - only processes with REDIS_URL need it
        from redis.backoff import NoBackoff  # noqa: PLC0415
        from redis.retry import Retry  # noqa: PLC0415

        if self._client is None:
            self._client = redis.Redis.from_url(
                self.url,
                socket_connect_timeout=5,
                socket_timeout=5,
                socket_keepalive=True,
                client_name=SENDER_NAME,
                retry=Retry(NoBackoff(), 0),  # the sender retries, reconnecting
            )
        self._client.publish(CHANNEL, payload)

    def reset(self) -> None:
        """Close the sending client."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
        self._client = None

    async def messages(self) -> AsyncIterator[str | None]:
        """SUBSCRIBE; a dropped connection raises here (no silent reconnect that hides a gap)."""
        from redis import asyncio as aioredis  # noqa: PLC0415
        from redis.asyncio.retry import Retry  # noqa: PLC0415
        from redis.backoff import NoBackoff  # noqa: PLC0415

        client = aioredis.Redis.from_url(
            self.url,
            socket_connect_timeout=5,
            socket_keepalive=True,
            health_check_interval=self.health_seconds,
            client_name=LISTENER_NAME,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            pubsub = client.pubsub()
            await pubsub.subscribe(CHANNEL)
            # Listening only once the server confirmed: what is published after is heard.
            confirmed = await pubsub.get_message(timeout=5)
            if confirmed is None or confirmed.get("type") != "subscribe":
                msg = f"Redis did not confirm the subscription: {confirmed!r}"
                raise ConnectionError(msg)
            yield None
            while True:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=self.health_seconds
                )
                if message is not None and message.get("type") == "message":
                    yield message["data"].decode()
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()


def make_bus(settings: Settings) -> Bus | None:
    """The transport the settings choose (None: memory, this process only)."""
    transport = settings.event_transport
    if transport == "redis" and settings.redis_url:
        return RedisBus(settings.redis_url)
    if transport == "postgres":
        return PostgresBus(settings.effective_database_url)
    return None


# ---------------------------------------------------------------- this process's bus

_lock = threading.Lock()
_state: dict[str, Any] = {"origin": "", "bus": None, "chosen": False, "sender": None}


def _after_fork() -> None:
    """A forked child is another process: its own origin, no inherited sender thread."""
    _state.update(origin="", sender=None)
    _state["bus"] = None
    _state["chosen"] = False


os.register_at_fork(after_in_child=_after_fork)


def origin() -> str:
    """This process's id on the bus (its own events come back with it and are skipped)."""
    if not _state["origin"]:
        _state["origin"] = uuid.uuid4().hex
    return str(_state["origin"])


def configured_bus() -> Bus | None:
    """This process's transport, chosen from settings on first use (None: memory)."""
    if not _state["chosen"]:
        with _lock:
            if not _state["chosen"]:
                _state["bus"] = make_bus(get_settings())
                _state["chosen"] = True
    return _state["bus"]


def transport() -> str:
    """`memory`, `postgres` or `redis`: what this process publishes through."""
    bus = configured_bus()
    return bus.name if bus is not None else "memory"


def use_bus(bus: Bus | None) -> None:
    """Replace this process's transport (tests; None: memory). Sends what was queued first."""
    close()
    with _lock:
        _state.update(bus=bus, chosen=True)


def reset() -> None:
    """Forget the transport; the next use chooses again from settings."""
    close()
    with _lock:
        _state.update(bus=None, chosen=False, listening=None)


def close(timeout: float = 5.0) -> None:
    """Send what is queued (up to `timeout`), then stop the sender (a process ending)."""
    with _lock:
        sender, _state["sender"] = _state["sender"], None
    if sender is not None:
        sender.close(timeout)


def flush(timeout: float = 5.0) -> bool:
    """Wait until every event published so far was handed to the transport."""
    sender = _state["sender"]
    return sender is None or sender.flush(timeout)


@atexit.register
def _send_before_exit() -> None:
    """A CLI command or worker ending: what it published still leaves (briefly waited for)."""
    close(timeout=2.0)


class _Sender:
    """One thread, one connection: events leave in publish order, publishers never wait."""

    _STOP = object()

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_MAX)
        self._dropped = 0
        self.thread = threading.Thread(target=self._run, name="imgapp-events", daemon=True)
        self.thread.start()

    def put(self, payload: str) -> None:
        try:
            self.queue.put_nowait(payload)
        except queue.Full:
            self._dropped += 1
            if self._dropped in {1, 100, 10_000} or self._dropped % 100_000 == 0:
                log.warning(
                    "event bus %s: %d events dropped, the sender is behind "
                    "(open pages catch up from the database)",
                    self.bus.name,
                    self._dropped,
                )

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is self._STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
            else:
                self._send(str(item))

    def _send(self, payload: str) -> None:
        for attempt in range(2):  # a dropped connection: reconnect once and send again
            try:
                self.bus.send(payload)
            except Exception:  # any failure of the transport: reconnect once, then drop
                self.bus.reset()
                if attempt == 0:
                    time.sleep(0.05)
                    continue
                log.warning(
                    "event bus %s unreachable: an event was not sent "
                    "(open pages catch up from the database)",
                    self.bus.name,
                    exc_info=True,
                )
            else:
                return

    def flush(self, timeout: float) -> bool:
        marker = threading.Event()
        try:
            self.queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.wait(timeout)

    def close(self, timeout: float) -> None:
        self.flush(timeout)
        with contextlib.suppress(queue.Full):
            self.queue.put(self._STOP, timeout=timeout)
        self.thread.join(timeout)
        self.bus.reset()


def _sender_for(bus: Bus) -> _Sender:
    sender = _state["sender"]
    if sender is None or sender.bus is not bus:
        with _lock:
            sender = _state["sender"]
            if sender is None or sender.bus is not bus:
                sender = _state["sender"] = _Sender(bus)
    return sender


# ---------------------------------------------------------------- receiving


def receive(payload: str | bytes) -> Event | None:
    """Hand a received payload to this process's subscribers (not our own: heard already)."""
    try:
        sent_by, event = decode(payload)
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring a malformed event on the bus: %.200r", payload)
        return None
    if sent_by == origin():
        return None
    _deliver_here(event)
    return event


async def listen(
    on_connected: Callable[[], Awaitable[None]] | None = None,
    *,
    bus: Bus | None = None,
) -> None:
    """Receive every process's events until cancelled; reconnects with backoff.

    `on_connected` runs (as its own task) after each connect and reconnect:
    whatever was published while the connection was down was lost for this
    process, so the caller re-reads what its pages show.
    """
    bus = bus or configured_bus()
    if bus is None:
        return  # memory: publish delivers here directly
    delay = _BACKOFF_FIRST
    pending: set[asyncio.Task[None]] = set()
    while True:
        try:
            async for payload in bus.messages():
                if payload is None:
                    delay = _BACKOFF_FIRST
                    _state["listening"] = True
                    log.info("event bus %s: listening", bus.name)
                    if on_connected is not None:
                        catch_up = asyncio.create_task(on_connected())
                        pending.add(catch_up)
                        catch_up.add_done_callback(_after_catch_up(pending))
                    continue
                receive(payload)
        except asyncio.CancelledError:
            _state["listening"] = None
            raise
        except Exception as exc:  # noqa: BLE001 - any drop: wait and reconnect
            _state["listening"] = False
            log.warning("event bus %s lost (%s); reconnecting in %.1fs", bus.name, exc, delay)
        else:
            _state["listening"] = False
            log.warning("event bus %s ended; reconnecting in %.1fs", bus.name, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, _BACKOFF_MAX)


def _after_catch_up(pending: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def done(task: asyncio.Task[None]) -> None:
        pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("catching up after the bus reconnected failed", exc_info=task.exception())

    return done
