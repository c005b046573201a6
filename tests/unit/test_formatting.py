"""Numbers, money and times for people: the same text in both languages, as it always was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from imgapp.core import formatting
from imgapp.core.settings import get_settings

LANGS = ("zh", "en")


def _old_yuan(fen: int) -> str:
    """The hand-written form Babel replaced; its output is the contract."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("fen", "shown"),
    [
        (1230, "¥12.30"),
        (1850, "¥18.50"),
        (0, "¥0.00"),
        (5, "¥0.05"),
        (-5, "-¥0.05"),
        (100_000, "¥1,000.00"),
        (-123_456_789, "-¥1,234,567.89"),
        (9_223_372_036_854_775_807, "¥92,233,720,368,547,758.07"),
    ],
)
def test_yuan(fen, shown, lang):
    assert formatting.yuan(fen, lang=lang) == shown


@pytest.mark.parametrize("lang", LANGS)
def test_yuan_matches_the_old_form(lang):
    for fen in [*range(-1_050, 1_050, 7), 99_999, 100_000, 1_234_567_890]:
        assert formatting.yuan(fen, lang=lang) == _old_yuan(fen)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("amount", "shown"),
    [(50, "+50"), (-3, "-3"), (0, "+0"), (1234, "+1,234"), (-1_234_567, "-1,234,567")],
)
def test_signed(amount, shown, lang):
    assert formatting.signed(amount, lang=lang) == shown
    assert formatting.signed(amount) == f"{amount:+,}"


def test_local_time_is_the_configured_zone_to_the_second():
    zone = get_settings().timezone
    moment = datetime(2026, 11, 22, 1, 30, 5, 987_654, tzinfo=UTC)
    for step in range(0, 400, 37):
        when = moment + timedelta(days=step, hours=step)
        expected = when.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        assert formatting.local_time(when) == expected
    if get_settings().imgapp_timezone == "Asia/Shanghai":
        assert formatting.local_time(moment) == "2026-11-22 09:30:05"


def test_local_iso_carries_the_zone_offset():
    moment = datetime(2026, 11, 22, 1, 30, 5, 987_654, tzinfo=UTC)
    expected = moment.astimezone(get_settings().timezone).isoformat(timespec="seconds")
    assert formatting.local_iso(moment) == expected
    if get_settings().imgapp_timezone == "Asia/Shanghai":
        assert formatting.local_iso(moment) == "2026-11-22T09:30:05+08:00"


def test_counts_are_grouped_in_thousands_in_both_languages():
    assert formatting.count(0) == "0"
    assert formatting.count(1234567) == "1,234,567"
    assert formatting.count(1234, lang="en") == "1,234"
