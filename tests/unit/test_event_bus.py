"""The cross-process event bus (core.events) against real servers: PostgreSQL and Redis.

Events are published by other processes (a small script, a real
`python -m imgapp.worker`) and heard by a listener in this one, as the live
bridge of an app process hears them. PostgreSQL cases run in the PostgreSQL
run (`IMGAPP_TEST_DB=postgresql`); Redis cases in both.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from imgapp.core import db, events
from imgapp.core.settings import get_settings
from imgapp.services import generation, queue
from tests.support import aio
from tests.support.bus import bus_listener
from tests.support.factories import funded_user
from tests.support.redis_server import RedisServer
from tests.support.servers import PROJECT_ROOT

# Publishes `count` events through the bus the environment chooses, then exits
# (what it queued leaves before the process ends).
PUBLISHER = """
import sys
from imgapp.core import events
count, prompt_size = int(sys.argv[1]), int(sys.argv[2])
for n in range(count):
    data = {"id": 1000 + n, "n": n, "balance": 40, "prompt": "x" * prompt_size}
    events.publish(events.Event("task", 7, data))
# A process with a bus is heard without subscribers; with memory, by nobody.
print(events.transport(), events.is_heard())
"""


@dataclass
class Transport:
    """A bus this process listens on, and the environment that makes a child use it."""

    name: str
    bus: events.Bus
    env: dict[str, str]


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    return {**env, **extra}


def _publish_from_child(transport: Transport, count: int, prompt_size: int = 0) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PUBLISHER, str(count), str(prompt_size)],
        cwd=PROJECT_ROOT,
        env=_child_env(transport.env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(autouse=True)
def _bus_chosen_again() -> Iterator[None]:
    """Each test leaves this process on the bus its settings choose (memory in tests)."""
    yield
    events.reset()


@pytest.fixture(params=["postgres", "redis"])
def transport(request, databases, database_url, redis_server) -> Transport:
    """Each transport on a real server: PostgreSQL (this test's database) and Redis."""
    if request.param == "postgres":
        if databases.kind != "postgresql":
            pytest.skip("PostgreSQL NOTIFY runs in the IMGAPP_TEST_DB=postgresql run")
        return Transport(
            "postgres",
            events.PostgresBus(database_url),
            {"DATABASE_URL": database_url, "EVENT_BUS": "auto"},
        )
    return Transport(
        "redis",
        events.RedisBus(redis_server.url),
        {"DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "EVENT_BUS": "auto"},
    )


def test_events_of_another_process_arrive_in_order_once(transport):
    with bus_listener(transport.bus) as heard:
        assert _publish_from_child(transport, 200) == f"{transport.name} True"
        heard.wait(lambda: len(heard.events) >= 200, "200 events")
        time.sleep(0.2)  # anything extra (a duplicate) would arrive by now
    assert [e.data["n"] for e in heard.events] == list(range(200))
    first = heard.events[0]
    assert (first.topic, first.user_id, first.partial) == ("task", 7, False)
    assert first.data == {"id": 1000, "n": 0, "balance": 40, "prompt": ""}


def test_an_event_published_here_is_delivered_here_once(transport):
    """Locally at once, and its echo from the bus is skipped (the origin id is ours)."""
    events.use_bus(transport.bus)
    other = events.PostgresBus if transport.name == "postgres" else events.RedisBus
    peer = other(transport.bus.dsn if transport.name == "postgres" else transport.bus.url)  # type: ignore[attr-defined]
    with bus_listener(transport.bus) as heard:
        events.publish(events.Event("payment", 3, {"order_id": "o-1", "status": "succeeded"}))
        assert events.flush()
        # A marker from another origin, sent after our own echo reached the server.
        peer.send(events.encode(events.Event("payment", 3, {"order_id": "marker"}), "elsewhere"))
        heard.wait(lambda: len(heard.of("payment")) >= 2, "the marker")
        time.sleep(0.1)
        peer.reset()
    assert [e.data["order_id"] for e in heard.of("payment")] == ["o-1", "marker"]


def test_the_memory_bus_stays_in_this_process(configure, redis_server):
    configure(EVENT_BUS="memory", REDIS_URL=redis_server.url)
    events.reset()
    assert events.transport() == "memory"
    assert not events.is_heard()  # nobody here, nobody elsewhere: a worker skips the reads
    assert aio.run(asyncio.wait_for(events.listen(), 1)) is None  # nothing to listen to

    memory = Transport("memory", events.RedisBus(redis_server.url), {"EVENT_BUS": "memory"})
    with bus_listener(memory.bus) as heard:
        assert _publish_from_child(memory, 3) == "memory False"
        time.sleep(0.3)
        events.publish(events.Event("invite", 5, {"status": "rewarded"}))
        heard.wait(lambda: bool(heard.events), "the local event")
        time.sleep(0.1)
    assert [(e.topic, e.user_id) for e in heard.events] == [("invite", 5)]


def test_settings_choose_the_bus(configure, redis_server):
    configure(DATABASE_URL="postgresql://u@127.0.0.1:1/x")
    assert get_settings().event_transport == "postgres"
    configure(REDIS_URL=redis_server.url)
    assert get_settings().event_transport == "redis"
    configure(EVENT_BUS="postgres")
    assert get_settings().event_transport == "postgres"
    configure(DATABASE_URL="", EVENT_BUS="auto", REDIS_URL="")
    assert get_settings().event_transport == "memory"
    configure(EVENT_BUS="redis")
    with pytest.raises(ValueError, match="EVENT_BUS=redis needs REDIS_URL"):
        get_settings()
    configure(EVENT_BUS="postgres")
    with pytest.raises(ValueError, match="EVENT_BUS=postgres needs a PostgreSQL"):
        get_settings()


def test_an_event_over_the_notify_limit_arrives_by_reference(transport):
    with bus_listener(transport.bus) as heard:
        _publish_from_child(transport, 2, prompt_size=9000)
        heard.wait(lambda: len(heard.events) >= 2, "both events")
    first, second = heard.events
    if transport.name == "postgres":  # 8000 bytes at most: the task id and balance travel
        assert first.partial
        assert first.data == {"id": 1000, "n": 0, "balance": 40}
        assert second.data["id"] == 1001
    else:  # Redis has no such limit
        assert not first.partial
        assert len(first.data["prompt"]) == 9000


def test_a_reference_is_completed_from_the_database(engine):
    """What the bridge does with a reference: the task's snapshot, read again."""
    from imgapp.live import bridge  # noqa: PLC0415 - the Reflex app's side

    user = funded_user(100)
    params = generation.Params(prompt="p" * 3000, size="512x512", n=1)
    task_id = db.call(queue.submit, user_id=user.id, params=params, provider="local").task.id
    reference = events.decode(
        events.encode(
            events.Event("task", user.id, {"id": task_id, "balance": 92, "prompt": "好" * 3000}),
            "elsewhere",
            limit=events.NOTIFY_LIMIT,
        )
    )[1]
    assert reference.partial
    assert "prompt" not in reference.data
    full = aio.run(bridge._complete(reference))
    assert full is not None
    assert not full.partial
    assert (full.data["id"], full.data["prompt"], full.data["balance"]) == (
        task_id,
        "p" * 3000,
        92,
    )
    assert full.data["status"] == "pending"


def test_the_listener_survives_a_redis_restart():
    server = RedisServer().start()
    transport = Transport("redis", events.RedisBus(server.url), {"REDIS_URL": server.url})
    try:
        with bus_listener(transport.bus) as heard:
            _publish_from_child(transport, 1)
            heard.wait(lambda: len(heard.events) == 1, "the first event")
            server.stop()
            time.sleep(0.5)  # the listener notices and retries while Redis is away
            server.start()
            heard.wait_connects(2)  # reconnected: the bridge catches up here
            _publish_from_child(transport, 2)
            heard.wait(lambda: len(heard.events) == 3, "events after the restart")
    finally:
        server.remove()
    assert [e.data["n"] for e in heard.events] == [0, 0, 1]


def _terminate(admin_dsn: str, application_name: str) -> int:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchall()
    return len(rows)


def test_the_listener_survives_a_dropped_postgres_connection(databases, database_url):
    if databases.kind != "postgresql":
        pytest.skip("PostgreSQL NOTIFY runs in the IMGAPP_TEST_DB=postgresql run")
    bus = events.PostgresBus(database_url)
    transport = Transport("postgres", bus, {"DATABASE_URL": database_url})
    events.use_bus(events.PostgresBus(database_url))  # this process publishes too
    admin = databases.pg.dsn("postgres")
    with bus_listener(bus) as heard:
        _publish_from_child(transport, 1)
        heard.wait(lambda: len(heard.events) == 1, "the first event")
        assert _terminate(admin, events.LISTENER_NAME) >= 1
        heard.wait_connects(2)  # LISTEN again: the bridge catches up here
        _publish_from_child(transport, 2)
        heard.wait(lambda: len(heard.events) == 3, "events after the reconnect")

        # The sending connection dropped too: the next publish reconnects and sends.
        events.publish(events.Event("session", 9, {"kind": "revoked", "session_ids": [1]}))
        assert events.flush()
        assert _terminate(admin, events.SENDER_NAME) >= 1
        with psycopg.connect(bus.dsn, autocommit=True) as raw:  # another process's view
            raw.execute(f"LISTEN {events.CHANNEL}")
            events.publish(events.Event("session", 9, {"kind": "revoked", "session_ids": [2]}))
            [notify] = list(raw.notifies(timeout=5, stop_after=1))
        assert events.decode(notify.payload) == (
            events.origin(),
            events.Event("session", 9, {"kind": "revoked", "session_ids": [2]}),
        )
    assert [e.data["n"] for e in heard.of("task")] == [0, 0, 1]
    # This process's own events are heard locally, not from the bus.
    assert heard.of("session") == [
        events.Event("session", 9, {"kind": "revoked", "session_ids": [1]}),
        events.Event("session", 9, {"kind": "revoked", "session_ids": [2]}),
    ]


def test_a_standalone_worker_announces_its_task_through_the_bus(transport, engine):
    user = funded_user(100)
    params = generation.Params(prompt="a lighthouse", size="512x512", n=1)
    task_id = db.call(queue.submit, user_id=user.id, params=params, provider="local").task.id
    env = _child_env(
        {
            **transport.env,
            "LOCAL_RENDER_SECONDS": "0.5",
            "TASK_POLL_SECONDS": "0.2",
            "TASK_PROGRESS_INTERVAL_SECONDS": "0",
        }
    )
    with bus_listener(transport.bus) as heard:
        worker = subprocess.Popen(
            [sys.executable, "-m", "imgapp.worker", "--worker-id", "far-away"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            heard.wait(
                lambda: any(e.data.get("status") == "completed" for e in heard.of("task")),
                "the completed task",
                seconds=60,
            )
        finally:
            worker.terminate()
            output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert f"{transport.name} event bus" in output, output
    mine = [e for e in heard.of("task") if e.data["id"] == task_id]
    assert all(e.user_id == user.id and not e.partial for e in mine)
    statuses = [e.data["status"] for e in mine]
    assert statuses[0] == "processing"
    assert statuses.count("completed") == 1
    assert statuses[-1] == "completed"
    progress = [e.data["progress"] for e in mine if e.data["status"] == "processing"]
    assert progress == sorted(progress)
    assert len(progress) >= 3  # the claim and the renderer's passes, as they happened
    assert mine[-1].data["image_ids"]
