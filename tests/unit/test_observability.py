"""Heartbeats, after-commit counting, the JSON log formatter, request ids, event stamps."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from imgapp.core import db, events, logs, metrics
from imgapp.core.settings import Settings
from imgapp.models.base import utcnow
from imgapp.services import heartbeats, ledger
from tests.support import aio
from tests.support.factories import funded_user


def test_a_heartbeat_is_one_row_per_processor_until_it_stops(engine):
    db.call(heartbeats.beat, worker_id="h:1:a", kind=heartbeats.STANDALONE, host="h", pid=1)
    first = db.call_read(heartbeats.last_seen, worker_id="h:1:a")
    time.sleep(0.01)
    db.call(heartbeats.beat, worker_id="h:1:a", kind=heartbeats.STANDALONE)
    assert db.call_read(heartbeats.last_seen, worker_id="h:1:a") > first
    db.call(heartbeats.beat, worker_id="h:2:b", kind=heartbeats.IN_APP)
    since = utcnow() - timedelta(seconds=30)
    assert [r.worker_id for r in db.call_read(heartbeats.alive, since=since)] == [
        "h:2:b",
        "h:1:a",
    ]
    standalone = db.call_read(heartbeats.alive, since=since, kind=heartbeats.STANDALONE)
    assert [r.worker_id for r in standalone] == ["h:1:a"]
    db.call(heartbeats.forget, worker_id="h:1:a")
    assert db.call_read(heartbeats.last_seen, worker_id="h:1:a") is None


def _adjustments() -> float:
    return REGISTRY.get_sample_value("imgapp_ledger_movements_total", {"kind": "adjustment"}) or 0


def test_a_movement_counts_only_once_its_transaction_commits(engine):
    user = funded_user(0)
    before = _adjustments()

    def undone(session: object) -> None:
        ledger.adjust(session, user_id=user.id, credits=5, key="obs-undo", description="x")  # type: ignore[arg-type]
        raise LookupError

    with pytest.raises(LookupError):
        db.call(undone)
    assert _adjustments() == before
    db.call(ledger.adjust, user_id=user.id, credits=5, key="obs-keep", description="x")
    assert _adjustments() == before + 1
    db.call(ledger.adjust, user_id=user.id, credits=5, key="obs-keep", description="x")
    assert _adjustments() == before + 1  # a replay moved nothing


def test_a_failing_after_commit_callback_does_not_undo_the_commit(engine, caplog):
    def boom() -> None:
        msg = "metrics backend gone"
        raise RuntimeError(msg)

    with db.transaction() as session:
        db.after_commit(session, boom)
    assert "after-commit callback failed" in caplog.text


def _json_line(record_args: dict[str, object]) -> dict[str, object]:
    buffer = io.StringIO()
    handler = logs.handler(Settings(log_format="json"), stream=buffer)
    log = logging.getLogger("imgapp.test.json")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        log.error("payment %s refused", "IMG-1", **record_args)  # type: ignore[arg-type]
    finally:
        log.removeHandler(handler)
    [line] = buffer.getvalue().splitlines()
    return json.loads(line)


def test_a_json_line_has_time_level_logger_message_request_id_and_exception():
    token = logs.REQUEST_ID.set("abc123")
    try:
        try:
            int("x")
        except ValueError:
            line = _json_line({"exc_info": True})
    finally:
        logs.REQUEST_ID.reset(token)
    assert line["level"] == "ERROR"
    assert line["logger"] == "imgapp.test.json"
    assert line["message"] == "payment IMG-1 refused"
    assert line["request_id"] == "abc123"
    assert "ValueError" in line["exception"]
    assert str(line["time"]).startswith(str(utcnow().year))


def test_a_json_line_outside_a_request_has_no_request_id():
    assert "request_id" not in _json_line({})


@pytest.mark.parametrize(
    ("presented", "kept"),
    [("req-1", True), ("a.b:c_d-9", True), ("", False), ("x" * 200, False), ("a b", False)],
)
def test_a_request_id_is_kept_only_when_it_is_a_plain_token(presented, kept):
    assert (logs.accept_request_id(presented) == presented) is kept


def test_events_are_stamped_when_published_and_stamps_do_not_affect_equality():
    event = events.Event("task", 1, {"id": 1})
    assert 0 <= time.time() - event.published_at < 1
    assert event == events.Event("task", 1, {"id": 1})
    assert events.health().ok


def test_the_exposition_adds_the_scrape_time_gauges():
    text = metrics.exposition([metrics.gauge("imgapp_queue_depth", "Waiting.", 3)]).decode()
    assert "imgapp_queue_depth 3.0" in text
    assert "# TYPE imgapp_task_duration_seconds histogram" in text


def test_push_latency_is_observed_when_an_event_reached_a_page(monkeypatch):
    from imgapp.live import bridge  # noqa: PLC0415 - imports the Reflex states

    pushed: list[int] = []

    async def push(user_id: int, _snapshot: dict[str, object]) -> int:
        pushed.append(user_id)
        return 1 if user_id == 1 else 0  # user 2 has no open page

    monkeypatch.setattr(bridge, "push", push)
    count = "imgapp_push_latency_seconds_count"
    before = REGISTRY.get_sample_value(count) or 0
    aio.run(bridge._on_event(events.Event("task", 1, {"id": 1, "status": "processing"})))
    aio.run(bridge._on_event(events.Event("task", 2, {"id": 2, "status": "processing"})))
    assert pushed == [1, 2]
    assert REGISTRY.get_sample_value(count) == before + 1
