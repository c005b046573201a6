"""Queue positions and ETAs from measured durations, on this run's database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from imgapp.core import db
from imgapp.flows import tasks as task_flow
from imgapp.models import Task
from imgapp.models.base import utcnow
from imgapp.services import generation, heartbeats, queue, queue_outlook
from imgapp.state import standings
from tests.support.factories import funded_user

pytestmark = pytest.mark.usefixtures("engine")

ONE = generation.Params(prompt="a fox", size="512x512", n=1, model="gpt-image-1")
TWO = generation.Params(prompt="a fox", size="512x512", n=2, model="gpt-image-1")


def _submit(user_id: int, params: generation.Params = ONE) -> int:
    return task_flow.submit(user_id=user_id, params=params, provider="local").task_id


def _finished(user_id: int, seconds: float, params: generation.Params = ONE) -> None:
    """A completed task that took `seconds` from claim to finish."""
    task_id = _submit(user_id, params)
    end = utcnow()
    with db.transaction() as session:
        session.execute(
            update(Task)
            .where(col(Task.id) == task_id)
            .values(status="completed", progress=100, started_at=end - timedelta(seconds=seconds))
            .values(finished_at=end)
        )


def _processors(slots: int) -> None:
    db.call(heartbeats.beat, worker_id="p1", kind="in_app", slots=slots)


def _outlook() -> dict[int, queue_outlook.Standing]:
    with db.read() as session:
        return queue_outlook.standings(session, now=utcnow(), max_age_seconds=30)


def test_medians_of_recent_completions_per_kind_and_per_image():
    user = funded_user(1000)
    for seconds in (10, 12, 30):
        _finished(user.id, seconds)
    _finished(user.id, 50, TWO)
    with db.read() as session:
        measured = queue_outlook.measured(session)
    assert measured.estimate(("local", "gpt-image-1", "512x512", 1)) == 12
    assert measured.estimate(("local", "gpt-image-1", "512x512", 2)) == 50
    # Never measured with 4 images: the per-image median (10, 12, 25, 30 -> 18.5) times 4.
    assert measured.estimate(("local", "gpt-image-1", "512x512", 4)) == pytest.approx(74)
    assert measured.estimate(("local", "dall-e-3", "1024x1024", 1)) is None


def test_positions_follow_the_claim_order_and_etas_play_the_slots_forward():
    user, other = funded_user(1000), funded_user(1000)
    for _ in range(3):
        _finished(user.id, 10)
    _processors(slots=2)
    first, second, third = (_submit(user.id) for _ in range(3))
    newcomer = _submit(other.id)
    found = _outlook()
    # Turn order: user's 0, other's 0, user's 1, user's 2.
    assert [found[t].position for t in (first, newcomer, second, third)] == [1, 2, 3, 4]
    # Two slots, 10 s each: 10, 10, 20, 20.
    assert [found[t].eta_seconds for t in (first, newcomer, second, third)] == [10, 10, 20, 20]
    db.call(queue.claim, worker_id="p1", limit=1, lease_seconds=30)
    found = _outlook()
    assert found[first].position is None  # running now: a time to go, no place
    assert found[first].eta_seconds == 10
    assert [found[t].position for t in (newcomer, second, third)] == [1, 2, 3]


def test_no_measured_duration_means_no_eta_but_still_a_place():
    user = funded_user(1000)
    _processors(slots=1)
    task_id = _submit(user.id)
    found = _outlook()
    assert (found[task_id].position, found[task_id].eta_seconds) == (1, None)


def test_without_a_live_processor_nothing_can_be_estimated():
    user = funded_user(1000)
    _finished(user.id, 10)
    task_id = _submit(user.id)
    assert _outlook()[task_id].eta_seconds is None


def test_a_running_task_past_its_median_reads_its_progress():
    user = funded_user(1000)
    _finished(user.id, 10)
    _processors(slots=1)
    task_id = _submit(user.id)
    db.call(queue.claim, worker_id="p1", limit=1, lease_seconds=30)
    with db.transaction() as session:
        session.execute(
            update(Task)
            .where(col(Task.id) == task_id)
            .values(progress=75, started_at=utcnow() - timedelta(seconds=30))
        )
    assert _outlook()[task_id].eta_seconds == 10  # 30 s for 75 %: 10 s more


def test_the_console_s_standings_are_the_user_s_own_and_rounded():
    user, other = funded_user(1000), funded_user(1000)
    _finished(user.id, 42)
    _processors(slots=1)
    mine = _submit(user.id)
    theirs = _submit(other.id)
    standings.forget_durations()
    assert standings.of_user(user.id) == {mine: (1, 45)}
    assert standings.of_user(other.id) == {theirs: (2, 90)}  # 84 s, up to the next 30
    assert standings.rounded(61) == 90
    assert standings.rounded(601) == 660


def test_a_completion_heard_by_the_live_bridge_refreshes_the_cached_durations(monkeypatch):
    from imgapp.core import events  # noqa: PLC0415
    from imgapp.live import bridge  # noqa: PLC0415 - imports the Reflex states
    from tests.support import aio  # noqa: PLC0415

    async def nowhere(_user_id: int, _data: object) -> int:
        return 0

    monkeypatch.setattr(bridge, "push", nowhere)
    user = funded_user(1000)
    _processors(slots=1)
    waiting = _submit(user.id)
    standings.forget_durations()
    assert standings.of_user(user.id) == {waiting: (1, None)}  # nothing measured: cached so
    _finished(user.id, 12)
    assert standings.of_user(user.id) == {waiting: (1, None)}  # still the cached medians
    aio.run(bridge._apply(events.Event("task", user.id, {"id": 1, "status": "completed"})))
    assert standings.of_user(user.id) == {waiting: (1, 15)}
