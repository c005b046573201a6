"""The usage report against the ledger, on this run's database (SQLite, then PostgreSQL).

Entries are written through the ledger at chosen moments (its clock is
pinned), then the report is checked against a plain sum over those entries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from imgapp.core import db
from imgapp.models import LedgerEntry
from imgapp.services import ledger, usage
from imgapp.services.errors import ValidationFailed
from tests.support.factories import create_user
from tests.support.history import adjust_at as _adjust
from tests.support.history import charge_at as _charge
from tests.support.history import credit_at as _credit
from tests.support.history import refund_at as _refund

pytestmark = pytest.mark.usefixtures("engine")

SHANGHAI = ZoneInfo("Asia/Shanghai")
ORIGIN = datetime(2026, 3, 20, tzinfo=UTC)  # New York moves its clocks in the window below


def _entries(user_id: int) -> list[LedgerEntry]:
    with db.read() as session:
        return list(session.exec(select(LedgerEntry).where(LedgerEntry.user_id == user_id)).all())


# --- the property: every figure is a sum of the ledger entries in the range -----------------

_event = st.tuples(
    st.sampled_from(["charge", "refund", "partial", "recharge", "reward", "adjust"]),
    st.integers(min_value=0, max_value=14 * 24 * 60),  # minutes after ORIGIN
    st.integers(min_value=1, max_value=40),
    st.sampled_from(["m1", "m2"]),
    st.sampled_from(["512x512", "1024x1024"]),
    st.integers(min_value=1, max_value=4),
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=st.lists(_event, min_size=1, max_size=25),
    zone=st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Asia/Kathmandu"]),
    first_day=st.integers(min_value=0, max_value=12),
    days=st.integers(min_value=1, max_value=6),
)
def test_every_figure_is_the_sum_of_the_ledger_entries_in_the_range(events, zone, first_day, days):
    user, _ = create_user()
    _write(user.id, events)
    start = (ORIGIN + timedelta(days=first_day)).date()
    window = usage.check_range(
        start.isoformat(), (start + timedelta(days=days)).isoformat(), ZoneInfo(zone)
    )
    inside = [e for e in _entries(user.id) if window.low <= e.created_at < window.high]
    with db.read() as session:
        found = usage.totals(session, user_id=user.id, window=window)
        _check_totals(found, inside)
        for group in usage.GROUPS:
            listed = usage.groups(session, user_id=user.id, window=window, group=group)
            for name in ("entries", "spent", "refunded", "recharged", "images", "tasks"):
                assert sum(getattr(g, name) for g in listed) == getattr(found, name), (group, name)
            if group in usage.TIME_GROUPS:
                assert [g.key for g in listed] == sorted(g.key for g in listed)
        streamed = list(usage.stream_rows(session, user_id=user.id, window=window, batch=7))
        assert [r.entry_id for r in streamed] == [
            e.id for e in sorted(inside, key=lambda e: (e.created_at, e.id))
        ]
        assert sum(r.credits for r in streamed) == found.net
        for sort in usage.SORTS:
            paged = _every_page(session, user.id, window, sort)
            assert sorted(r.entry_id for r in paged) == sorted(e.id for e in inside), sort
            assert len({r.entry_id for r in paged}) == len(paged), sort


def _write(user_id: int, events: list[tuple]) -> None:
    _credit(user_id, ORIGIN - timedelta(days=1), 100_000, f"seed:{user_id}")
    charges: list[tuple[str, datetime, int]] = []
    for i, (kind, minutes, credits, model, size, n) in enumerate(events):
        at = ORIGIN + timedelta(minutes=minutes)
        key = f"p:{user_id}:{i}"
        if kind == "charge" or (kind in {"refund", "partial"} and not charges):
            _charge(user_id, at, credits, key, model=model, size=size, n=n)
            charges.append((key, at, credits))
        elif kind in {"refund", "partial"}:
            charge_key, charged_at, charged = charges.pop()
            part = None if kind == "refund" else max(1, charged // 2)
            _refund(user_id, max(at, charged_at + timedelta(minutes=1)), charge_key, key, part)
        elif kind == "adjust":
            _adjust(user_id, at, credits if i % 2 else -credits, key)
        else:
            _credit(user_id, at, credits, key, ledger.LedgerKind(kind))


def _check_totals(found: usage.Totals, inside: list[LedgerEntry]) -> None:
    def total(kind: str) -> int:
        return sum(e.amount for e in inside if e.kind == kind)

    assert found.entries == len(inside)
    assert found.amount == sum(e.amount for e in inside)
    assert found.spent == -total("charge")
    assert found.refunded == total("refund")
    assert found.net == -total("charge") - total("refund")
    assert found.recharged == total("recharge")
    assert found.rewarded == total("reward")
    assert found.adjusted == total("adjustment")


def _every_page(session, user_id: int, window: usage.Range, sort: str) -> list[usage.Row]:
    paged: list[usage.Row] = []
    cursor = None
    while True:
        page = usage.rows(
            session, user_id=user_id, window=window, sort=sort, limit=4, cursor=cursor
        )
        paged += page.rows
        if page.next_cursor is None:
            return paged
        cursor = page.next_cursor


# --- time zones -----------------------------------------------------------------------------


def test_day_boundaries_follow_the_chosen_zone():
    user, _ = create_user()
    _credit(user.id, datetime(2026, 11, 1, tzinfo=UTC), 100, f"seed:{user.id}")
    late = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)  # 23:30 on the 22nd in Shanghai
    after = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)  # 00:30 on the 23rd in Shanghai
    _charge(user.id, late, 4, f"late:{user.id}")
    _charge(user.id, after, 8, f"after:{user.id}")
    with db.read() as session:
        shanghai = usage.check_range("2026-11-22", "2026-11-23", SHANGHAI)
        assert usage.totals(session, user_id=user.id, window=shanghai).spent == 4
        in_utc = usage.check_range("2026-11-22", "2026-11-23", ZoneInfo("UTC"))
        assert usage.totals(session, user_id=user.id, window=in_utc).spent == 12
        two_days = usage.check_range("2026-11-22", "2026-11-24", SHANGHAI)
        days = usage.groups(session, user_id=user.id, window=two_days, group="day")
        assert [(g.key, g.spent) for g in days] == [("2026-11-22", 4), ("2026-11-23", 8)]
        rows = usage.rows(session, user_id=user.id, window=two_days, sort="time").rows
        assert [r.created_at for r in rows] == [late, after]


def test_a_daylight_saving_day_has_23_hours_and_its_entries():
    user, _ = create_user()
    new_york = ZoneInfo("America/New_York")
    _credit(user.id, datetime(2026, 3, 1, tzinfo=UTC), 100, f"seed:{user.id}")
    # 2026-03-08: clocks go from 02:00 to 03:00; the local day is 05:00Z .. 04:00Z next day.
    _charge(user.id, datetime(2026, 3, 8, 4, 59, tzinfo=UTC), 1, f"before:{user.id}")
    _charge(user.id, datetime(2026, 3, 8, 5, 0, tzinfo=UTC), 2, f"first:{user.id}")
    _charge(user.id, datetime(2026, 3, 9, 3, 59, tzinfo=UTC), 4, f"last:{user.id}")
    _charge(user.id, datetime(2026, 3, 9, 4, 0, tzinfo=UTC), 8, f"next:{user.id}")
    window = usage.check_range("2026-03-07", "2026-03-10", new_york)
    assert window.high - window.low == timedelta(hours=71)
    with db.read() as session:
        days = usage.groups(session, user_id=user.id, window=window, group="day")
    assert [(g.key, g.spent) for g in days] == [
        ("2026-03-07", 1),
        ("2026-03-08", 6),
        ("2026-03-09", 8),
    ]


def test_weeks_start_on_monday_and_months_on_the_first():
    user, _ = create_user()
    _credit(user.id, datetime(2026, 10, 1, tzinfo=UTC), 100, f"seed:{user.id}")
    _charge(user.id, datetime(2026, 10, 31, 12, tzinfo=UTC), 3, f"oct:{user.id}")  # a Saturday
    _charge(user.id, datetime(2026, 11, 2, 12, tzinfo=UTC), 5, f"nov:{user.id}")  # a Monday
    window = usage.check_range("2026-10-28", "2026-11-05", SHANGHAI)
    with db.read() as session:
        weeks = usage.groups(session, user_id=user.id, window=window, group="week")
        months = usage.groups(session, user_id=user.id, window=window, group="month")
    assert [(g.key, g.spent) for g in weeks] == [("2026-10-26", 3), ("2026-11-02", 5)]
    assert [(g.key, g.spent) for g in months] == [("2026-10-01", 3), ("2026-11-01", 5)]


# --- grouping, refunds, isolation ------------------------------------------------------------


def test_a_refund_groups_with_its_charges_model_and_takes_its_images_back():
    user, _ = create_user()
    day = datetime(2026, 11, 20, 4, tzinfo=UTC)
    _credit(user.id, day, 100, f"seed:{user.id}")
    charged = _charge(user.id, day, 16, f"a:{user.id}", model="gpt-image-1", size="1024x1024", n=2)
    _charge(user.id, day, 4, f"b:{user.id}", model="dall-e-3", size="512x512", n=1)
    _refund(user.id, day + timedelta(minutes=3), f"a:{user.id}", f"ra:{user.id}")
    window = usage.check_range("2026-11-20", "2026-11-21", SHANGHAI)
    with db.read() as session:
        by_model = {
            g.key: g for g in usage.groups(session, user_id=user.id, window=window, group="model")
        }
        found = usage.totals(session, user_id=user.id, window=window)
        rows = usage.rows(session, user_id=user.id, window=window, sort="time").rows
    assert (by_model["gpt-image-1"].spent, by_model["gpt-image-1"].refunded) == (16, 16)
    assert (by_model["gpt-image-1"].net, by_model["gpt-image-1"].images) == (0, 0)
    assert (by_model["dall-e-3"].net, by_model["dall-e-3"].images) == (4, 1)
    assert (found.spent, found.refunded, found.net, found.images) == (20, 16, 4, 1)
    refund = rows[-1]
    assert (refund.kind, refund.credits, refund.refund_of) == ("refund", -16, charged.entry_id)
    assert (refund.model, refund.size, refund.images) == ("gpt-image-1", "1024x1024", -2)


def test_another_users_entries_never_appear():
    mine, _ = create_user()
    theirs, _ = create_user()
    day = datetime(2026, 11, 20, 4, tzinfo=UTC)
    for user in (mine, theirs):
        _credit(user.id, day, 50, f"seed:{user.id}")
    _charge(theirs.id, day, 9, f"theirs:{theirs.id}")
    window = usage.check_range("2026-11-20", "2026-11-21", SHANGHAI)
    with db.read() as session:
        assert usage.totals(session, user_id=mine.id, window=window).spent == 0
        rows = list(usage.stream_rows(session, user_id=mine.id, window=window))
    assert [r.kind for r in rows] == ["recharge"]


# --- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "rule", "field"),
    [
        ("2026-11-31", "2026-12-01", "date_invalid", "from"),
        ("yesterday", "2026-12-01", "date_invalid", "from"),
        ("2026-11-01", "", "date_invalid", "to"),
        ("2026-11-02", "2026-11-01", "range_end_not_after_start", "to"),
        ("2026-11-01", "2026-11-01", "range_end_not_after_start", "to"),
        ("2025-01-01", "2026-01-03", "date_range_too_long", "to"),
    ],
)
def test_bad_ranges_name_the_parameter(start, end, rule, field):
    with pytest.raises(ValidationFailed) as caught:
        usage.check_range(start, end, SHANGHAI)
    assert (caught.value.rule, caught.value.field) == (rule, field)


def test_a_full_leap_year_is_allowed():
    window = usage.check_range("2028-01-01", "2029-01-01", SHANGHAI)
    assert window.days == usage.MAX_DAYS


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "Asia/Shanghai\n", 8])
def test_unknown_zones_are_refused(zone):
    if zone == "Asia/Shanghai\n":
        assert usage.check_zone(zone).key == "Asia/Shanghai"
        return
    with pytest.raises(ValidationFailed) as caught:
        usage.check_zone(zone)
    assert caught.value.field == "tz"


def test_groups_sorts_limits_and_cursors_are_checked():
    assert usage.check_group(None) == "day"
    for bad, check in (("hour", usage.check_group), ("amount", usage.check_sort)):
        with pytest.raises(ValidationFailed):
            check(bad)
    for bad in ("0", "501", "ten"):
        with pytest.raises(ValidationFailed):
            usage.check_limit(bad)
    window = usage.check_range("2026-11-01", "2026-11-02", SHANGHAI)
    with db.read() as session, pytest.raises(ValidationFailed) as caught:
        usage.rows(session, user_id=1, window=window, cursor="not-a-cursor")
    assert caught.value.field == "cursor"


def test_zone_names_are_iana_areas():
    names = usage.zone_names()
    assert "Asia/Shanghai" in names
    assert "America/New_York" in names
    assert names[0] == "UTC"
    assert all("/" in n for n in names[1:])


def test_time_buckets_close_with_the_balance_and_carry_it_over_empty_ones():
    user, _ = create_user()
    _credit(user.id, datetime(2026, 11, 1, tzinfo=UTC), 100, f"seed:{user.id}")
    _charge(user.id, datetime(2026, 11, 2, 3, tzinfo=UTC), 10, f"a:{user.id}")
    _charge(user.id, datetime(2026, 11, 2, 4, tzinfo=UTC), 5, f"b:{user.id}")
    _charge(user.id, datetime(2026, 11, 4, 3, tzinfo=UTC), 20, f"c:{user.id}")
    window = usage.check_range("2026-11-01", "2026-11-06", SHANGHAI)
    with db.read() as session:
        days = usage.groups(session, user_id=user.id, window=window, group="day")
        later = usage.check_range("2026-11-03", "2026-11-04", SHANGHAI)
        [quiet] = usage.groups(session, user_id=user.id, window=later, group="day")
        by_kind = usage.groups(session, user_id=user.id, window=window, group="kind")
    assert [(g.key, g.balance) for g in days] == [
        ("2026-11-01", 100),
        ("2026-11-02", 85),
        ("2026-11-03", 85),
        ("2026-11-04", 65),
        ("2026-11-05", 65),
    ]
    assert (quiet.entries, quiet.balance) == (0, 85)
    assert all(g.balance is None for g in by_kind)


# --- the named ranges the page offers --------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("today", "2026-03-10", "2026-03-11"),
        ("7d", "2026-03-04", "2026-03-11"),
        ("30d", "2026-02-09", "2026-03-11"),
        ("this_month", "2026-03-01", "2026-03-11"),
        ("last_month", "2026-02-01", "2026-03-01"),
    ],
)
def test_presets_end_with_today_in_the_zone(preset, start, end):
    window = usage.preset_range(preset, SHANGHAI, today=date(2026, 3, 10))
    assert (window.start.isoformat(), window.end.isoformat(), window.zone) == (start, end, SHANGHAI)


def test_last_month_in_january_is_last_years_december():
    window = usage.preset_range("last_month", SHANGHAI, today=date(2027, 1, 1))
    assert (window.start, window.end) == (date(2026, 12, 1), date(2027, 1, 1))


def test_the_default_preset_is_what_the_api_answers_without_a_range():
    today = datetime.now(SHANGHAI).date()
    window = usage.preset_range(usage.DEFAULT_PRESET, SHANGHAI)
    assert (window.days, window.end) == (30, today + timedelta(days=1))


def test_a_custom_range_includes_its_last_day():
    window = usage.preset_range("custom", SHANGHAI, first="2026-11-01", last="2026-11-01")
    assert (window.start, window.end, window.days) == (date(2026, 11, 1), date(2026, 11, 2), 1)


@pytest.mark.parametrize(
    ("preset", "first", "last", "rule"),
    [
        ("custom", "", "2026-11-02", "custom_range_incomplete"),
        ("custom", "2026-11-31", "2026-12-02", "custom_range_incomplete"),
        ("custom", "2026-11-05", "2026-11-01", "date_range_reversed"),
        ("custom", "2025-01-01", "2026-06-01", "date_range_too_long"),
        ("forever", "", "", "preset_unknown"),
    ],
)
def test_bad_presets_and_custom_ranges_are_refused(preset, first, last, rule):
    with pytest.raises(ValidationFailed) as caught:
        usage.preset_range(preset, SHANGHAI, first=first, last=last)
    assert caught.value.rule == rule


def test_the_summary_says_how_much_of_each_recent_charge_came_back():
    user, _ = create_user()
    other, _ = create_user()
    day = datetime(2026, 11, 20, 4, tzinfo=UTC)
    for owner in (user, other):
        _credit(owner.id, day, 100, f"seed:{owner.id}")
    full = _charge(user.id, day, 16, f"a:{user.id}")
    part = _charge(user.id, day, 10, f"b:{user.id}")
    kept = _charge(user.id, day, 4, f"c:{user.id}")
    _refund(user.id, day, f"a:{user.id}", f"ra:{user.id}")
    _refund(user.id, day, f"b:{user.id}", f"rb:{user.id}", credits=3)
    _charge(other.id, day, 5, f"x:{other.id}")
    _refund(other.id, day, f"x:{other.id}", f"rx:{other.id}")
    found = db.call_read(ledger.summary, user_id=user.id)
    assert found.refunds == {full.entry_id: 16, part.entry_id: 3}
    assert kept.entry_id not in found.refunds
    with db.read() as session:  # someone else's charge ids answer nothing
        assert ledger.refunded_charges(session, user_id=other.id, entry_ids=[full.entry_id]) == {}
