"""Totals and groups of a usage report: sums of the range's ledger entries, by kind folded in.

Day, week and month buckets follow the zone's own midnights (daylight saving
included): the database sums per 15-minute UTC slot (every zone's midnight
falls on one) and the slots are folded into local buckets here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, literal, select
from sqlmodel import Session, col

from imgapp.core.db import epoch_seconds
from imgapp.models import LedgerEntry, LedgerKind, PaymentTransaction, Task
from imgapp.services.usage.params import TIME_GROUPS, Range
from imgapp.services.usage.query import images, in_range, report_rows, task_charge

_SLOT_SECONDS = 900  # every zone's offset is a whole number of quarter hours


@dataclass
class Figures:
    """Sums over some entries (a group, or the whole range)."""

    entries: int = 0
    amount: int = 0  # the signed sum: how the balance moved
    spent: int = 0
    refunded: int = 0
    recharged: int = 0
    rewarded: int = 0
    adjusted: int = 0
    images: int = 0
    tasks: int = 0

    @property
    def net(self) -> int:
        """Credits spent less credits refunded."""
        return self.spent - self.refunded

    def add(self, kind: str, *, entries: int, amount: int, images: int, tasks: int) -> None:
        """Fold one (kind) line of an aggregate query in."""
        self.entries += entries
        self.amount += amount
        self.images += images
        self.tasks += tasks
        if kind == LedgerKind.CHARGE:
            self.spent -= amount
        elif kind == LedgerKind.REFUND:
            self.refunded += amount
        elif kind == LedgerKind.RECHARGE:
            self.recharged += amount
        elif kind == LedgerKind.REWARD:
            self.rewarded += amount
        else:
            self.adjusted += amount

    def as_dict(self) -> dict[str, int]:
        """As the API writes it."""
        return {
            "entries": self.entries,
            "spent": self.spent,
            "refunded": self.refunded,
            "net": self.net,
            "recharged": self.recharged,
            "rewarded": self.rewarded,
            "adjusted": self.adjusted,
            "balance_change": self.amount,
            "images": self.images,
            "tasks": self.tasks,
        }


@dataclass
class Totals(Figures):
    """The whole range: the figures, CNY paid for the recharges, and tasks by their status now."""

    recharged_fen: int = 0
    tasks_by_status: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """As the API writes it."""
        return {
            **super().as_dict(),
            "recharged_fen": self.recharged_fen,
            "tasks_by_status": dict(self.tasks_by_status),
        }


@dataclass
class Group(Figures):
    """One bucket (a local day, week or month) or one model, size or kind."""

    key: str = ""
    # Time buckets: the balance at the bucket's end (carried over empty ones); else None.
    balance: int | None = None
    last_entry_id: int = 0

    def as_dict(self) -> dict[str, Any]:
        """As the API writes it."""
        found = {"key": self.key, **super().as_dict()}
        if self.balance is not None:
            found["balance"] = self.balance
        return found


def _aggregate(session: Session, user_id: int, window: Range, group: str | None) -> list[Any]:
    report = report_rows(user_id, window)
    key = _bucket_key(report, group, window, native=_zones_in_sql(session))
    statement = select(
        key.label("key"),
        report.c.kind,
        func.count().label("entries"),
        func.sum(report.c.amount).label("amount"),
        func.sum(images(report)).label("images"),
        func.sum(task_charge(report)).label("tasks"),
        func.max(report.c.id).label("last_id"),
    ).group_by(key, report.c.kind)
    return list(session.execute(statement).all())


def _zones_in_sql(session: Session) -> bool:
    """PostgreSQL buckets by local time itself; SQLite has no zones, so 15-minute slots."""
    return session.get_bind().dialect.name == "postgresql"


def _bucket_start(moment: datetime, group: str) -> date:
    day = moment.date()
    if group == "week":  # ISO weeks: Monday first
        return day - timedelta(days=day.weekday())
    if group == "month":
        return day.replace(day=1)
    return day


def _bucket_key(report: Any, group: str | None, window: Range, *, native: bool) -> Any:
    if group is None:
        return literal("all")
    if group in TIME_GROUPS and native:  # the local day/week/month's first moment
        return func.date_trunc(group, func.timezone(window.zone.key, report.c.created_at))
    if group in TIME_GROUPS:
        return epoch_seconds(report.c.created_at) // _SLOT_SECONDS
    if group == "model":
        return func.coalesce(report.c.model, literal(""))
    if group == "size":
        return func.coalesce(report.c.size, literal(""))
    return report.c.kind


def _bucket_of(key: Any, group: str, window: Range) -> str:
    """The local bucket's first day, from a key of either kind (`_bucket_key`)."""
    if isinstance(key, datetime):  # PostgreSQL: local time, already truncated
        return key.date().isoformat()
    moment = datetime.fromtimestamp(int(key) * _SLOT_SECONDS, window.zone)
    return _bucket_start(moment, group).isoformat()


def summary(
    session: Session, *, user_id: int, window: Range, group: str
) -> tuple[Totals, list[Group]]:
    """The range's totals and its figures by `group`, from one pass over its entries."""
    rows = _aggregate(session, user_id, window, group)
    result = Totals()
    for row in rows:
        _fold_in(result, row)
    _add_payments_and_tasks(session, user_id, window, result)
    return result, _groups(session, user_id, window, group, rows)


def groups(session: Session, *, user_id: int, window: Range, group: str) -> list[Group]:
    """The range's figures by `group`: time buckets oldest first, others largest net first.

    Time buckets are every local day, week or month the range touches, empty
    ones included (a chart wants its gaps), each with its closing balance.
    """
    return _groups(session, user_id, window, group, _aggregate(session, user_id, window, group))


def _fold_in(target: Figures, row: Any) -> None:
    target.add(
        row.kind,
        entries=int(row.entries),
        amount=int(row.amount or 0),
        images=int(row.images or 0),
        tasks=int(row.tasks or 0),
    )


def _groups(
    session: Session, user_id: int, window: Range, group: str, rows: list[Any]
) -> list[Group]:
    found: dict[str, Group] = {}
    if group in TIME_GROUPS:
        for bucket in _time_buckets(window, group):
            found[bucket] = Group(key=bucket)
    for row in rows:
        key = _bucket_of(row.key, group, window) if group in TIME_GROUPS else str(row.key or "")
        target = found.setdefault(key, Group(key=key))
        target.last_entry_id = max(target.last_entry_id, int(row.last_id))
        _fold_in(target, row)
    listed = list(found.values())
    if group in TIME_GROUPS:
        _carry_balances(session, user_id, window, listed)
    else:
        listed.sort(key=lambda g: (-g.net, -g.entries, g.key))
    return listed


def _carry_balances(session: Session, user_id: int, window: Range, buckets: list[Group]) -> None:
    """Each bucket's closing balance: its last entry's, else the one before it carried on.

    Entry ids follow the order balances moved in (each move holds the account's
    row lock while it inserts), so the largest id is the bucket's last word.
    """
    last_ids = [g.last_entry_id for g in buckets if g.last_entry_id]
    after: dict[int, int] = {}
    if last_ids:
        after = dict(
            session.execute(
                select(col(LedgerEntry.id), col(LedgerEntry.balance_after)).where(
                    col(LedgerEntry.id).in_(last_ids)
                )
            ).all()
        )
    opening = session.execute(
        select(col(LedgerEntry.balance_after))
        .where(col(LedgerEntry.user_id) == user_id, col(LedgerEntry.created_at) < window.low)
        .order_by(col(LedgerEntry.created_at).desc(), col(LedgerEntry.id).desc())
        .limit(1)
    ).scalar_one_or_none()
    running = int(opening or 0)
    for bucket in buckets:
        running = int(after.get(bucket.last_entry_id, running))
        bucket.balance = running


def _time_buckets(window: Range, group: str) -> list[str]:
    keys: dict[str, None] = {}
    day = window.start
    while day < window.end:
        keys[_bucket_start(datetime.combine(day, time.min), group).isoformat()] = None
        day += timedelta(days=1)
    return list(keys)


def totals(session: Session, *, user_id: int, window: Range) -> Totals:
    """The whole range's figures (equal to the sum of its ledger entries)."""
    result = Totals()
    for row in _aggregate(session, user_id, window, None):
        _fold_in(result, row)
    _add_payments_and_tasks(session, user_id, window, result)
    return result


def _add_payments_and_tasks(session: Session, user_id: int, window: Range, result: Totals) -> None:
    """CNY paid for the range's recharges, and its charged tasks counted by their status now."""
    paid = session.execute(
        select(func.coalesce(func.sum(col(PaymentTransaction.amount_fen)), 0))
        .select_from(LedgerEntry)
        .join(PaymentTransaction, col(PaymentTransaction.ledger_entry_id) == col(LedgerEntry.id))
        .where(*in_range(user_id, window), col(LedgerEntry.kind) == LedgerKind.RECHARGE.value)
    ).scalar_one()
    result.recharged_fen = int(paid)
    # The range's charges, each naming the task it paid for.
    by_status = session.execute(
        select(col(Task.status), func.count())
        .select_from(LedgerEntry)
        .join(Task, col(Task.id) == col(LedgerEntry.task_id))
        .where(*in_range(user_id, window), col(LedgerEntry.kind) == LedgerKind.CHARGE.value)
        .group_by(col(Task.status))
    ).all()
    result.tasks_by_status = {str(status): int(count) for status, count in by_status}
