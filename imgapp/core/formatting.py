"""How numbers, money and times are written for people (UI, CSV). No framework imports.

Text for people goes through Babel with the language's locale (`i18n.locale`);
the patterns below pin the forms imgapp has always shown ("¥1,234.50", "+50",
"2026-11-22 09:30:05"), which read the same in both languages. Machine formats
(ISO 8601 for files) stay with the standard library. This module also owns
day boundaries and today's date in a zone: a person's own (`zone=`), else the
configured one.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_currency, format_decimal

from imgapp.core import i18n
from imgapp.core.settings import get_settings

# Yuan with the "¥" sign in both languages: Babel's English default is "CN¥".
_YUAN = "¥#,##0.00"
_COUNT = "#,##0"
# Grouped, with an explicit sign: "+1,234", "-30", "+0".
_SIGNED = "+#,##0;-#,##0"
_LOCAL_TIME = "yyyy-MM-dd HH:mm:ss"


# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Text for a CSV cell: an apostrophe first when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def credits_value_fen(credits: int) -> int:
    """What `credits` are worth in fen at the configured price."""
    return credits * get_settings().credit_price_fen


def yuan(fen: int, *, lang: str | None = i18n.DEFAULT_LANG) -> str:
    """Fen as yuan with two decimals: 1230 -> '¥12.30' (exact, no floats)."""
    amount = Decimal(fen).scaleb(-2)
    return format_currency(amount, "CNY", format=_YUAN, locale=i18n.locale(lang))


def count(amount: int, *, lang: str | None = i18n.DEFAULT_LANG) -> str:
    """A whole number grouped in thousands: 1234 -> '1,234'."""
    return format_decimal(amount, format=_COUNT, locale=i18n.locale(lang))


def signed(amount: int, *, lang: str | None = i18n.DEFAULT_LANG) -> str:
    """An amount with its sign: +50, -3."""
    return format_decimal(amount, format=_SIGNED, locale=i18n.locale(lang))


def duration(seconds: int, *, lang: str | None = i18n.DEFAULT_LANG) -> str:
    """A length of time in words: 42 -> '42秒钟' / '42 seconds', 130 -> '2分钟' / '2 minutes'."""
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, locale=i18n.locale(lang))


def _zone(zone: tzinfo | None) -> tzinfo:
    return zone if zone is not None else get_settings().timezone


def local_time(moment: datetime, *, zone: tzinfo | None = None) -> str:
    """A timestamp in `zone` (default: the configured one): '2026-11-22 09:30:05'."""
    local = moment.astimezone(_zone(zone))
    return format_datetime(local, _LOCAL_TIME, locale=i18n.locale())


def local_iso(moment: datetime, *, zone: tzinfo | None = None) -> str:
    """ISO 8601 with the offset of `zone` (default: the configured one), for files."""
    return moment.astimezone(_zone(zone)).isoformat(timespec="seconds")


def day_bounds(start: date, end: date, *, zone: tzinfo | None = None) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in `zone` (default: the configured one), as aware datetimes."""
    where = _zone(zone)
    return (
        datetime.combine(start, time.min, tzinfo=where),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=where),
    )


def today(*, zone: tzinfo | None = None) -> date:
    """Today's date in `zone` (default: the configured one)."""
    return datetime.now(_zone(zone)).date()
