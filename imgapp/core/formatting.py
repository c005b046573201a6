"""How numbers, money and times are written for people (UI, CSV). No framework imports."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from imgapp.core.settings import get_settings


def credits_value_fen(credits: int) -> int:
    """What `credits` are worth in fen at the configured price."""
    return credits * get_settings().credit_price_fen


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals: 1230 -> '¥12.30' (exact, no floats)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def signed(amount: int) -> str:
    """An amount with its sign: +50, -3."""
    return f"{amount:+,}"


def local_time(moment: datetime) -> str:
    """A timestamp in the configured zone: '2026-11-22 09:30:05'."""
    return moment.astimezone(get_settings().timezone).strftime("%Y-%m-%d %H:%M:%S")


def local_iso(moment: datetime) -> str:
    """ISO 8601 with the configured zone's offset, for files."""
    return moment.astimezone(get_settings().timezone).isoformat(timespec="seconds")


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in the configured zone, as aware datetimes."""
    zone = get_settings().timezone
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def today() -> date:
    """Today's date in the configured zone."""
    return datetime.now(get_settings().timezone).date()
