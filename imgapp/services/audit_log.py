"""A person's own audit log: categories, filters, pages and readable rows.

Every `audit.Action` belongs to one category (`CATEGORY`; a test fails when a
new action has none). A user's log is every row whose `actor_user_id` is the
user: each credit movement writes such a row in the same statement as its
ledger entry, so the log needs no second source for money. The query runs on
the `(actor_user_id, created_at)` index; the category is a filter on top.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from imgapp.core import formatting, i18n
from imgapp.models import AuditLog, UserSession
from imgapp.services import devices
from imgapp.services.audit import Action
from imgapp.services.errors import ValidationFailed
from imgapp.services.usage import params

PAGE_SIZE = 50
_STREAM_BATCH = 1000


class Category(StrEnum):
    """The groups a person filters their log by."""

    SIGN_IN = "sign_in"
    SECURITY = "security"
    MONEY = "money"
    INVITES = "invites"
    ACCOUNT = "account"


CATEGORY: dict[Action, Category] = {
    Action.REGISTER: Category.SIGN_IN,
    Action.LOGIN: Category.SIGN_IN,
    Action.LOGIN_FAILED: Category.SIGN_IN,
    Action.LOGIN_THROTTLED: Category.SIGN_IN,
    Action.LOGOUT: Category.SIGN_IN,
    Action.SESSION_REVOKED: Category.SECURITY,
    Action.OTHER_SESSIONS_REVOKED: Category.SECURITY,
    Action.NEW_DEVICE_SIGN_IN: Category.SECURITY,
    Action.PASSWORD_CHANGED: Category.SECURITY,
    Action.EMAIL_CHANGED: Category.SECURITY,
    Action.REAUTHENTICATED: Category.SECURITY,
    Action.TWO_FACTOR_ENABLED: Category.SECURITY,
    Action.TWO_FACTOR_DISABLED: Category.SECURITY,
    Action.TWO_FACTOR_FAILED: Category.SECURITY,
    Action.RECOVERY_CODE_USED: Category.SECURITY,
    Action.RECOVERY_CODES_REGENERATED: Category.SECURITY,
    Action.API_KEY_CREATED: Category.SECURITY,
    Action.API_KEY_FIRST_USED: Category.SECURITY,
    Action.API_KEY_REVOKED: Category.SECURITY,
    Action.WEBHOOK_SECRET_ROTATED: Category.SECURITY,
    Action.PROFILE_UPDATED: Category.ACCOUNT,
    Action.TIME_ZONE_CHANGED: Category.ACCOUNT,
    Action.CREDITS_CHARGED: Category.MONEY,
    Action.CREDITS_RECHARGED: Category.MONEY,
    Action.CREDITS_REFUNDED: Category.MONEY,
    Action.CREDITS_REWARDED: Category.MONEY,
    Action.CREDITS_ADJUSTED: Category.MONEY,
    Action.PAYMENT_CREATED: Category.MONEY,
    Action.PAYMENT_REFUSED: Category.MONEY,
    Action.PAYMENT_SUCCEEDED: Category.MONEY,
    Action.PAYMENT_LATE: Category.MONEY,
    Action.PAYMENT_EXPIRED: Category.MONEY,
    Action.NOTIFICATION_REJECTED: Category.MONEY,
    Action.INVITE_BOUND: Category.INVITES,
    Action.INVITE_REWARDED: Category.INVITES,
    Action.INVITE_HELD: Category.INVITES,
    Action.INVITE_RELEASED: Category.INVITES,
    Action.INVITE_REJECTED: Category.INVITES,
}

# The readable summary of each action (catalogue keys; placeholders from `_params`).
DETAIL_KEY: dict[Action, str] = {
    Action.REGISTER: "audit.detail.register",
    Action.LOGIN: "audit.detail.login",
    Action.LOGIN_FAILED: "audit.detail.login_failed",
    Action.LOGIN_THROTTLED: "audit.detail.login_throttled",
    Action.LOGOUT: "audit.detail.logout",
    Action.SESSION_REVOKED: "audit.detail.session_revoked",
    Action.OTHER_SESSIONS_REVOKED: "audit.detail.other_sessions_revoked",
    Action.NEW_DEVICE_SIGN_IN: "audit.detail.new_device_sign_in",
    Action.PASSWORD_CHANGED: "audit.detail.password_changed",
    Action.EMAIL_CHANGED: "audit.detail.email_changed",
    Action.REAUTHENTICATED: "audit.detail.reauthenticated",
    Action.TWO_FACTOR_ENABLED: "audit.detail.two_factor_enabled",
    Action.TWO_FACTOR_DISABLED: "audit.detail.two_factor_disabled",
    Action.TWO_FACTOR_FAILED: "audit.detail.two_factor_failed",
    Action.RECOVERY_CODE_USED: "audit.detail.recovery_code_used",
    Action.RECOVERY_CODES_REGENERATED: "audit.detail.recovery_codes_regenerated",
    Action.API_KEY_CREATED: "audit.detail.api_key_created",
    Action.API_KEY_FIRST_USED: "audit.detail.api_key_first_used",
    Action.API_KEY_REVOKED: "audit.detail.api_key_revoked",
    Action.WEBHOOK_SECRET_ROTATED: "audit.detail.webhook_secret_rotated",
    Action.PROFILE_UPDATED: "audit.detail.profile_updated",
    Action.TIME_ZONE_CHANGED: "audit.detail.time_zone_changed",
    Action.CREDITS_CHARGED: "audit.detail.credits_charged",
    Action.CREDITS_RECHARGED: "audit.detail.credits_recharged",
    Action.CREDITS_REFUNDED: "audit.detail.credits_refunded",
    Action.CREDITS_REWARDED: "audit.detail.credits_rewarded",
    Action.CREDITS_ADJUSTED: "audit.detail.credits_adjusted",
    Action.PAYMENT_CREATED: "audit.detail.payment_created",
    Action.PAYMENT_REFUSED: "audit.detail.payment_refused",
    Action.PAYMENT_SUCCEEDED: "audit.detail.payment_succeeded",
    Action.PAYMENT_LATE: "audit.detail.payment_late",
    Action.PAYMENT_EXPIRED: "audit.detail.payment_expired",
    Action.NOTIFICATION_REJECTED: "audit.detail.notification_rejected",
    Action.INVITE_BOUND: "audit.detail.invite_bound",
    Action.INVITE_REWARDED: "audit.detail.invite_rewarded",
    Action.INVITE_HELD: "audit.detail.invite_held",
    Action.INVITE_RELEASED: "audit.detail.invite_released",
    Action.INVITE_REJECTED: "audit.detail.invite_rejected",
}

COLUMNS = ("time", "category", "action", "ip", "device", "detail")
FORMATS = ("json", "csv")


def category_of(action: str) -> str:
    """The category of a stored action name ("" for a name no longer in `Action`)."""
    try:
        return CATEGORY[Action(action)].value
    except ValueError:
        return ""


@dataclass(frozen=True)
class Filters:
    """What a person asked their log for: a category, and local days (both included)."""

    category: Category | None
    first: date | None
    last: date | None
    zone: ZoneInfo

    @property
    def low(self) -> datetime | None:
        """The first day's local midnight, in UTC."""
        if self.first is None:
            return None
        return datetime.combine(self.first, time.min, tzinfo=self.zone).astimezone(UTC)

    @property
    def high(self) -> datetime | None:
        """The local midnight after the last day, in UTC (not included)."""
        if self.last is None:
            return None
        after = self.last + timedelta(days=1)
        return datetime.combine(after, time.min, tzinfo=self.zone).astimezone(UTC)


def check_filters(
    *, category: str | None, first: str | None, last: str | None, zone_name: str
) -> Filters:
    """Validate the filters; a bad one is `ValidationFailed` naming its field."""
    chosen = (
        params.check_choice(category, field="category", choices=tuple(c.value for c in Category))
        if category
        else ""
    )
    start = params.check_day(first, "from") if first else None
    end = params.check_day(last, "to") if last else None
    if start is not None and end is not None and end < start:
        raise ValidationFailed(
            "date_range_reversed", "The start date must not be after the end date.", field="to"
        )
    return Filters(
        category=Category(chosen) if chosen else None,
        first=start,
        last=end,
        zone=params.zone_of(zone_name),
    )


def check_format(value: str | None) -> str:
    """`json` (default) or `csv`."""
    return params.check_choice(value, field="format", choices=FORMATS)


def check_page(value: str | None) -> int:
    """A page number from 1 (default 1)."""
    if value in (None, ""):
        return 1
    try:
        page = int(value)
    except ValueError:
        page = 0
    if page < 1:
        raise ValidationFailed(
            "page_invalid", "`page` must be a whole number from 1.", field="page"
        )
    return page


def _where(query: Any, *, user_id: int, filters: Filters) -> Any:
    query = query.where(AuditLog.actor_user_id == user_id)
    if filters.category is not None:
        actions = [a.value for a, c in CATEGORY.items() if c is filters.category]
        query = query.where(col(AuditLog.action).in_(actions))
    if filters.low is not None:
        query = query.where(col(AuditLog.created_at) >= filters.low)
    if filters.high is not None:
        query = query.where(col(AuditLog.created_at) < filters.high)
    return query


def _newest_first(query: Any) -> Any:
    return query.order_by(col(AuditLog.created_at).desc(), col(AuditLog.id).desc())


@dataclass(frozen=True)
class Event:
    """One row of a person's log, ready to show."""

    id: int
    time: datetime
    category: str
    action: str
    ip: str
    device: str
    detail: str

    def as_dict(self) -> dict[str, object]:
        """As the API writes it (time in ISO 8601, UTC)."""
        return {
            "id": self.id,
            "time": self.time.astimezone(UTC).isoformat(),
            "category": self.category,
            "action": self.action,
            "ip": self.ip,
            "device": self.device,
            "detail": self.detail,
        }

    def csv_values(self) -> list[object]:
        """The CSV's cells in `COLUMNS` order."""
        found = self.as_dict()
        return [found[name] for name in COLUMNS]


@dataclass(frozen=True)
class Page:
    """A page of the log and where it stands."""

    events: list[Event]
    page: int
    pages: int
    total: int


def _acting_session(row: AuditLog) -> int | None:
    """The session an event came from, when it was recorded."""
    found = (row.details or {}).get("session_id")
    if isinstance(found, int):
        return found
    if row.action == Action.LOGOUT.value and row.target.isdigit():
        return int(row.target)  # before session_id was recorded: the target is that session
    return None


def _device_labels(session: Session, user_id: int, rows: list[AuditLog]) -> dict[int, str]:
    ids = {sid for row in rows if (sid := _acting_session(row)) is not None}
    if not ids:
        return {}
    found = session.exec(
        select(UserSession.id, UserSession.user_agent).where(
            col(UserSession.id).in_(ids), UserSession.user_id == user_id
        )
    ).all()
    return {int(sid or 0): device_label(agent) for sid, agent in found}


def device_label(user_agent: str) -> str:
    """A user agent in one line: device, browser and system that are known."""
    seen = devices.describe(user_agent)
    return " / ".join(part for part in (seen.device, seen.browser, seen.os) if part)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _params(row: AuditLog, lang: str) -> dict[str, object]:
    """The placeholders of a row's summary; only fields that are safe to show."""
    details: dict[str, Any] = row.details or {}
    amount = _int(details.get("amount"))
    return {
        "email": row.target,
        "target": row.target,
        "count": _int(details.get("count") or details.get("other_sessions_ended")),
        "credits": formatting.count(abs(amount) or _int(details.get("credits")), lang=lang),
        "signed_credits": f"{amount:+d}",
        "balance": formatting.count(_int(details.get("balance_after")), lang=lang),
        "yuan": formatting.yuan(_int(details.get("amount_fen")), lang=lang),
        "reason": str(details.get("reason", ""))[:64],
        "name": str(details.get("name", ""))[:60],
        "left": _int(details.get("left")),
        "old": str(details.get("from", ""))[:254],
        "new": str(details.get("to", ""))[:254],
        "zone": str(details.get("to") or "") or params.zone_of(None).key,
        "device": " / ".join(
            str(details.get(k, "")) for k in ("device", "browser", "os") if details.get(k)
        ),
    }


def summary(row: AuditLog, lang: str) -> str:
    """The row in a sentence, in `lang`."""
    try:
        key = DETAIL_KEY[Action(row.action)]
    except ValueError:
        return row.action
    return i18n.text(key, lang, **_params(row, lang))


def _event(row: AuditLog, labels: dict[int, str], lang: str) -> Event:
    sid = _acting_session(row)
    return Event(
        id=row.id or 0,
        time=row.created_at,
        category=category_of(row.action),
        action=row.action,
        ip=row.ip,
        device=labels.get(sid, "") if sid is not None else "",
        detail=summary(row, lang),
    )


def page_for_user(
    session: Session, *, user_id: int, filters: Filters, page: int, lang: str
) -> Page:
    """One page of the user's log, newest first, with how many rows match."""
    total = session.exec(
        _where(select(func.count()).select_from(AuditLog), user_id=user_id, filters=filters)
    ).one()
    rows = list(
        session.exec(
            _newest_first(_where(select(AuditLog), user_id=user_id, filters=filters))
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).all()
    )
    labels = _device_labels(session, user_id, rows)
    return Page(
        events=[_event(row, labels, lang) for row in rows],
        page=page,
        pages=max(1, -(-int(total) // PAGE_SIZE)),
        total=int(total),
    )


def stream_for_user(
    session: Session, *, user_id: int, filters: Filters, lang: str
) -> Iterator[Event]:
    """Every matching event, newest first, read a batch at a time (for the CSV)."""
    before: tuple[datetime, int] | None = None
    while True:
        query = _newest_first(_where(select(AuditLog), user_id=user_id, filters=filters))
        if before is not None:
            at, last_id = before
            query = query.where(
                (col(AuditLog.created_at) < at)
                | ((col(AuditLog.created_at) == at) & (col(AuditLog.id) < last_id))
            )
        rows = list(session.exec(query.limit(_STREAM_BATCH)).all())
        if not rows:
            return
        labels = _device_labels(session, user_id, rows)
        for row in rows:
            yield _event(row, labels, lang)
        before = (rows[-1].created_at, rows[-1].id or 0)
