"""What a usage report may be asked for: a time zone, a range of local days, a grouping, a sort.

Also the named ranges a page offers (`PRESETS`: today, the last 7 or 30 days,
this month so far, last month, or two chosen days with the last one included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from imgapp.core.settings import get_settings
from imgapp.services.errors import ValidationFailed

GROUPS = ("day", "week", "month", "model", "size", "kind")
TIME_GROUPS = ("day", "week", "month")
MAX_DAYS = 366
PAGE_LIMIT_MAX = 500
SORTS = ("-time", "time", "-credits", "credits")
PRESETS = ("today", "7d", "30d", "this_month", "last_month", "custom")
DEFAULT_PRESET = "30d"


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_names() -> list[str]:
    """The IANA zones people may choose: UTC, then every Area/City, sorted."""
    return ["UTC", *sorted(z for z in _known_zones() if "/" in z and not z.startswith("Etc/"))]


def check_zone(value: object, *, field_name: str = "tz") -> ZoneInfo:
    """An IANA zone such as `Asia/Shanghai` (or `UTC`), or `ValidationFailed` naming the field."""
    name = value.strip() if isinstance(value, str) else ""
    if name in _known_zones():
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ValidationFailed(
        "time_zone_unknown",
        f"`{field_name}` must be an IANA time zone such as Asia/Shanghai.",
        field=field_name,
        name=field_name,
    )


def zone_of(name: str | None, *, field_name: str = "tz") -> ZoneInfo:
    """The zone a person chose, or the site's (IMGAPP_TIMEZONE) when they chose none."""
    if not name:
        return get_settings().timezone
    return check_zone(name, field_name=field_name)


def check_day(value: object, name: str) -> date:
    """A local date `YYYY-MM-DD`, or `ValidationFailed` naming the field `name`."""
    return _day(value, name)


def _day(value: object, name: str) -> date:
    try:
        if isinstance(value, str) and len(value.strip()) == 10:  # noqa: PLR2004 - YYYY-MM-DD
            return date.fromisoformat(value.strip())
    except ValueError:
        pass
    raise ValidationFailed(
        "date_invalid", f"`{name}` must be a date like 2026-11-22.", field=name, name=name
    )


@dataclass(frozen=True)
class Range:
    """Whole local days [start, end) in `zone`."""

    start: date
    end: date
    zone: ZoneInfo

    @property
    def low(self) -> datetime:
        """Local midnight of `start`, in UTC."""
        return datetime.combine(self.start, time.min, tzinfo=self.zone).astimezone(UTC)

    @property
    def high(self) -> datetime:
        """Local midnight of `end`, in UTC (not included)."""
        return datetime.combine(self.end, time.min, tzinfo=self.zone).astimezone(UTC)

    @property
    def days(self) -> int:
        """How many local days it covers."""
        return (self.end - self.start).days

    def as_dict(self) -> dict[str, str]:
        """As the API writes it."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "tz": self.zone.key,
            "from_utc": self.low.isoformat(),
            "to_utc": self.high.isoformat(),
        }


def check_range(start: object, end: object, zone: ZoneInfo) -> Range:
    """`from` (inclusive) and `to` (exclusive) as local dates, at most `MAX_DAYS` apart."""
    first, last = _day(start, "from"), _day(end, "to")
    if last <= first:
        raise ValidationFailed(
            "range_end_not_after_start",
            "`to` must be after `from` (it is not included: to=2026-11-24 ends with the 23rd).",
            field="to",
        )
    if (last - first).days > MAX_DAYS:
        raise ValidationFailed(
            "date_range_too_long",
            f"A report covers at most {MAX_DAYS} days; choose a shorter range.",
            field="to",
            max=MAX_DAYS,
        )
    return Range(first, last, zone)


def check_choice(value: object, *, field: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first when none is given), or `ValidationFailed` naming `field`."""
    if value is None or value == "":
        return choices[0]
    if value not in choices:
        raise ValidationFailed(
            "choice_unknown",
            f"`{field}` must be one of: {', '.join(choices)}.",
            field=field,
            name=field,
            choices=", ".join(choices),
        )
    return str(value)


def check_group(value: object) -> str:
    """One of `GROUPS` (default `day`)."""
    return check_choice(value, field="group_by", choices=GROUPS)


def check_sort(value: object) -> str:
    """One of `SORTS` (default newest first)."""
    return check_choice(value, field="sort", choices=SORTS)


def check_limit(value: object) -> int:
    """A page size from 1 to `PAGE_LIMIT_MAX` (default 50)."""
    if value is None or value == "":
        return 50
    try:
        limit = int(str(value))
    except ValueError:
        limit = 0
    if not 1 <= limit <= PAGE_LIMIT_MAX:
        raise ValidationFailed(
            "limit_range",
            f"`limit` must be a whole number from 1 to {PAGE_LIMIT_MAX}.",
            field="limit",
            max=PAGE_LIMIT_MAX,
        )
    return limit


def _picked_day(value: object) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if isinstance(value, str) else None
    except ValueError:
        return None


def preset_range(
    preset: object,
    zone: ZoneInfo,
    *,
    first: object = "",
    last: object = "",
    today: date | None = None,
) -> Range:
    """The range a named preset covers in `zone`; `custom` is `first` to `last`, both included.

    The rolling presets end with today (so "this month" is the month so far);
    `today` defaults to the date in `zone` now.
    """
    day = today or datetime.now(zone).date()
    tomorrow = day + timedelta(days=1)
    if preset == "today":
        return Range(day, tomorrow, zone)
    if preset == "7d":
        return Range(day - timedelta(days=6), tomorrow, zone)
    if preset == "30d":
        return Range(day - timedelta(days=29), tomorrow, zone)
    if preset == "this_month":
        return Range(day.replace(day=1), tomorrow, zone)
    if preset == "last_month":
        this_month = day.replace(day=1)
        return Range((this_month - timedelta(days=1)).replace(day=1), this_month, zone)
    if preset != "custom":
        raise ValidationFailed(
            "preset_unknown",
            f"The range must be one of: {', '.join(PRESETS)}.",
            field="preset",
            choices=", ".join(PRESETS),
        )
    start, end = _picked_day(first), _picked_day(last)
    if start is None or end is None:
        raise ValidationFailed(
            "custom_range_incomplete", "Choose a start and an end date.", field="custom"
        )
    if end < start:
        raise ValidationFailed(
            "date_range_reversed", "The start date must not be after the end date.", field="to"
        )
    return check_range(start.isoformat(), (end + timedelta(days=1)).isoformat(), zone)
