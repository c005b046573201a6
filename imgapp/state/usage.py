"""Usage report `/usage`: the chosen range, grouping and sort, and what the report service found.

One read (`_read`) gives everything the page shows for the applied choices:
totals, every group and one page of detail rows, for whole days in the
person's zone. The page's own events run it with new choices, which become the
page's only when the read succeeds (bad input changes nothing but `error`);
the live bridge runs it again with the same choices (`refresh`) when money
moved for this user, so new usage appears without a reload. Paging is keyset:
`cursor` is where the shown page starts, `_back` the cursors of the pages
before it.

A little over 400 lines, one concern: the page's choices and what they read;
shaping rows for the tables is `ledger_rows`' and the report's rules are
`services/usage`'s.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import reflex as rx

from imgapp.core import db, formatting, i18n, routes
from imgapp.models import TaskStatus
from imgapp.services import ledger, usage
from imgapp.services.errors import ImgappError, describe
from imgapp.state.app import AppState

PAGE_SIZE = 20

# Catalogue keys of each choice, written out so extraction finds them.
PRESET_KEYS = {
    "today": "usage.preset.today",
    "7d": "usage.preset.7d",
    "30d": "usage.preset.30d",
    "this_month": "usage.preset.this_month",
    "last_month": "usage.preset.last_month",
    "custom": "usage.preset.custom",
}
GROUP_KEYS = {
    "day": "usage.group.day",
    "week": "usage.group.week",
    "month": "usage.group.month",
    "model": "usage.group.model",
    "size": "usage.group.size",
    "kind": "usage.group.kind",
}
SORT_KEYS = {
    "-time": "usage.sort.newest",
    "time": "usage.sort.oldest",
    "-credits": "usage.sort.amount_high",
    "credits": "usage.sort.amount_low",
}
_STATUS_ORDER = [s.value for s in TaskStatus]


@dataclass(frozen=True)
class Choices:
    """What the page asks the report for."""

    preset: str
    first: str  # custom range: first day, YYYY-MM-DD
    last: str  # custom range: last day, included
    group: str
    sort: str
    cursor: str


@dataclass(frozen=True)
class Found:
    """One read of the report, as plain data the state keeps."""

    window: usage.Range
    totals: dict[str, Any]
    groups: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    next_cursor: str
    balance: int


def _row(row: usage.Row, window: usage.Range) -> dict[str, Any]:
    return {
        "entry_id": row.entry_id,
        "time": formatting.local_time(row.created_at, zone=window.zone),
        "kind": row.kind,
        "amount": row.amount,
        "balance_after": row.balance_after,
        "model": row.model,
        "size": row.size,
        "images": row.images,
        "reference": row.reference,
        "refund_of": row.refund_of or 0,
        "description": row.description,
    }


def _read(user_id: int, choices: Choices, window: usage.Range) -> Found:
    """Totals, groups and one page of rows, in one read-only transaction."""
    with db.read() as session:
        totals, groups = usage.summary(session, user_id=user_id, window=window, group=choices.group)
        page = usage.rows(
            session,
            user_id=user_id,
            window=window,
            sort=choices.sort,
            limit=PAGE_SIZE,
            cursor=choices.cursor or None,
        )
        balance = ledger.balance(session, user_id=user_id)
    return Found(
        window=window,
        totals=totals.as_dict(),
        groups=[g.as_dict() for g in groups],
        rows=[_row(r, window) for r in page.rows],
        next_cursor=page.next_cursor or "",
        balance=balance,
    )


def _signed(amount: int, lang: str) -> str:
    """+5 or -5; a plain 0 when nothing moved."""
    return formatting.signed(amount, lang=lang) if amount else "0"


def _group_label(key: str, group: str, lang: str) -> str:
    """A group's name for people: its day, week, month, model, size or kind."""
    if group == "week":
        return i18n.text("usage.week_of", lang, day=key)
    if group == "kind":
        return i18n.text(f"kind.{key}", lang)
    if group in ("model", "size") and not key:
        return i18n.text("usage.group.none", lang)
    return key


def _report_url(first: str, end: str, zone: str, group: str, **extra: str) -> str:
    """`/api/usage/report` as CSV for this range (`end` excluded), zone and grouping."""
    return routes.with_query(
        routes.API_USAGE_REPORT,
        **{"from": first, "to": end},
        tz=zone,
        group_by=group,
        format="csv",
        **extra,
    )


def _short_day(key: str, group: str) -> str:
    """A time bucket as the chart's axis writes it: 11-22, or 2026-11 for a month."""
    if group == "month":
        return key[:7]
    return key[5:]


class UsageState(AppState):
    """The applied choices, the custom range being typed, and the last read."""

    preset: str = usage.DEFAULT_PRESET
    custom_from: str = ""
    custom_to: str = ""
    group: str = "day"
    sort: str = "-time"
    cursor: str = ""
    next_cursor: str = ""
    range_from: str = ""  # the applied range: its first local day
    range_to: str = ""  # and the day after its last (the service's exclusive end)
    range_zone: str = ""
    error: str = ""
    loaded: bool = False
    _back: list[str] = []
    _totals: dict[str, Any] = {}
    _groups: list[dict[str, Any]] = []
    _rows: list[dict[str, Any]] = []

    # --- what the page renders -------------------------------------------------------------

    @rx.var
    def range_text(self) -> str:
        """The applied range with its last day included (first day, en dash, last day)."""
        if not self.range_from:
            return ""
        last = date.fromisoformat(self.range_to) - timedelta(days=1)
        if last.isoformat() == self.range_from:
            return self.range_from
        return f"{self.range_from} – {last.isoformat()}"

    @rx.var
    def is_time_group(self) -> bool:
        """Whether groups are days, weeks or months (they carry a closing balance)."""
        return self.group in usage.TIME_GROUPS

    @rx.var
    def has_usage(self) -> bool:
        """Whether anything moved in the range."""
        return int(self._totals.get("entries", 0)) > 0

    @rx.var
    def cards(self) -> dict[str, str]:
        """The totals, written for people."""
        found, lang = self._totals, self.lang
        names = ("spent", "refunded", "net", "recharged", "rewarded", "images", "tasks", "entries")
        return {
            **{name: formatting.count(int(found.get(name, 0)), lang=lang) for name in names},
            "adjusted": _signed(int(found.get("adjusted", 0)), lang),
            "recharged_yuan": formatting.yuan(int(found.get("recharged_fen", 0)), lang=lang),
        }

    @rx.var
    def has_adjusted(self) -> bool:
        """Whether an operator adjusted the balance in the range."""
        return int(self._totals.get("adjusted", 0)) != 0

    @rx.var
    def status_counts(self) -> list[dict[str, str]]:
        """Tasks charged in the range, by their status now."""
        by_status: dict[str, int] = self._totals.get("tasks_by_status", {})
        lang = self.lang
        return [
            {
                "status": status,
                "label": i18n.text(f"status.{status}", lang),
                "count": formatting.count(by_status[status], lang=lang),
            }
            for status in _STATUS_ORDER
            if by_status.get(status)
        ]

    @rx.var
    def chart_data(self) -> list[dict[str, Any]]:
        """Per group: credits spent and refunded; for time buckets also the closing balance."""
        group, lang = self.group, self.lang
        timed = group in usage.TIME_GROUPS
        points = []
        for found in self._groups:
            key = found["key"]
            point: dict[str, Any] = {
                "label": _short_day(key, group) if timed else _group_label(key, group, lang),
                "spent": int(found["spent"]),
                "refunded": int(found["refunded"]),
            }
            if timed and "balance" in found:
                point["balance"] = int(found["balance"])
            points.append(point)
        return points

    @rx.var
    def group_rows(self) -> list[dict[str, str]]:
        """Every group with its figures, written for people; `key` as the CSV has it."""
        group, lang = self.group, self.lang
        names = ("entries", "spent", "refunded", "net", "recharged", "rewarded", "images", "tasks")
        return [
            {
                "key": found["key"],
                "label": _group_label(found["key"], group, lang),
                **{name: formatting.count(int(found[name]), lang=lang) for name in names},
                "adjusted": _signed(int(found["adjusted"]), lang),
                "balance": formatting.count(int(found["balance"]), lang=lang)
                if "balance" in found
                else "",
            }
            for found in self._groups
        ]

    @rx.var
    def detail_rows(self) -> list[dict[str, str]]:
        """The shown page of ledger entries, written for people."""
        lang = self.lang
        return [
            {
                "entry_id": str(row["entry_id"]),
                "time": row["time"],
                "kind": row["kind"],
                "kind_label": i18n.text(f"kind.{row['kind']}", lang),
                "model": row["model"],
                "size": row["size"],
                "images": str(row["images"]) if row["images"] else "",
                "amount": formatting.signed(row["amount"], lang=lang),
                "positive": "1" if row["amount"] > 0 else "",
                "balance_after": formatting.count(row["balance_after"], lang=lang),
                "reference": row["reference"],
                "refund_of": str(row["refund_of"]) if row["refund_of"] else "",
                "refund_label": i18n.text("usage.refund_of", lang, entry=row["refund_of"])
                if row["refund_of"]
                else "",
                "description": row["description"],
            }
            for row in self._rows
        ]

    @rx.var
    def page_label(self) -> str:
        """Which page of the detail is shown."""
        return i18n.text("usage.page", self.lang, page=len(self._back) + 1)

    @rx.var
    def has_prev(self) -> bool:
        """Whether a page comes before the shown one."""
        return bool(self._back)

    @rx.var
    def has_next(self) -> bool:
        """Whether a page comes after the shown one."""
        return bool(self.next_cursor)

    @rx.var
    def csv_rows_url(self) -> str:
        """The detail CSV of exactly the applied range, zone and grouping."""
        return _report_url(self.range_from, self.range_to, self.range_zone, self.group)

    @rx.var
    def csv_groups_url(self) -> str:
        """The grouped CSV of exactly the applied range, zone and grouping."""
        return _report_url(
            self.range_from, self.range_to, self.range_zone, self.group, view="groups"
        )

    # --- reading -----------------------------------------------------------------------------

    def _choices(self, **changes: str) -> Choices:
        current = {
            "preset": self.preset,
            "first": self.custom_from,
            "last": self.custom_to,
            "group": self.group,
            "sort": self.sort,
            "cursor": self.cursor,
        }
        return Choices(**{**current, **changes})

    async def _fetch(self, choices: Choices) -> Found:
        """Check the choices and read the report; `ImgappError` names what is wrong."""
        window = usage.preset_range(
            choices.preset, self.zone(), first=choices.first, last=choices.last
        )
        checked = Choices(
            preset=choices.preset,
            first=choices.first,
            last=choices.last,
            group=usage.check_group(choices.group),
            sort=usage.check_sort(choices.sort),
            cursor=choices.cursor,
        )
        return await asyncio.to_thread(_read, self.user_id, checked, window)

    def _keep(self, choices: Choices, found: Found, back: list[str]) -> None:
        self.preset = choices.preset
        self.group = choices.group
        self.sort = choices.sort
        self.cursor = choices.cursor
        self._back = back
        self.range_from = found.window.start.isoformat()
        self.range_to = found.window.end.isoformat()
        self.range_zone = found.window.zone.key
        self._totals = found.totals
        self._groups = found.groups
        self._rows = found.rows
        self.next_cursor = found.next_cursor
        self.balance = found.balance
        self.loaded = True

    async def _show(self, choices: Choices, back: list[str] | None = None) -> None:
        """Read with `choices`: on success they become the page's; else only `error` is set."""
        try:
            found = await self._fetch(choices)
        except ImgappError as exc:
            self.error = describe(exc, self.lang).message
            return
        self.error = ""
        self._keep(choices, found, [] if back is None else back)

    async def refresh(self) -> None:
        """The live bridge: money moved, so read the shown report again (same page)."""
        if not self.loaded or not self.user_id:
            return
        choices = self._choices()
        try:
            found = await self._fetch(choices)
        except ImgappError:
            return  # the choices were good when applied; the next action shows any error
        self._keep(choices, found, list(self._back))

    # --- events ----------------------------------------------------------------------------

    @rx.event
    async def load(self) -> None:
        """Every visit: the first page of the current choices, in the person's zone now."""
        if not self.user_id:
            return
        if not self.custom_from:
            default = usage.preset_range(usage.DEFAULT_PRESET, self.zone())
            self.custom_from = default.start.isoformat()
            self.custom_to = (default.end - timedelta(days=1)).isoformat()
        await self._show(self._choices(cursor=""))

    @rx.event
    async def choose_preset(self, preset: str) -> None:
        """A named range; `custom` starts from the applied range, ready to be edited."""
        if preset == "custom" and self.range_from:
            self.custom_from = self.range_from
            last = date.fromisoformat(self.range_to) - timedelta(days=1)
            self.custom_to = last.isoformat()
        await self._show(self._choices(preset=preset, cursor=""))

    @rx.event
    def set_custom_from(self, value: str) -> None:
        """The custom range's first day, as typed (applied with `apply_custom`)."""
        self.custom_from = value

    @rx.event
    def set_custom_to(self, value: str) -> None:
        """The custom range's last day (included), as typed."""
        self.custom_to = value

    @rx.event
    async def apply_custom(self) -> None:
        """Show the typed custom range."""
        await self._show(self._choices(preset="custom", cursor=""))

    @rx.event
    async def set_group(self, value: str) -> None:
        """Group by day, week, month, model, size or kind."""
        await self._show(self._choices(group=value, cursor=""))

    @rx.event
    async def set_sort(self, value: str) -> None:
        """Order the detail rows; back to their first page."""
        await self._show(self._choices(sort=value, cursor=""))

    @rx.event
    async def next_page(self) -> None:
        """The detail page after the shown one."""
        if self.next_cursor:
            await self._show(
                self._choices(cursor=self.next_cursor), back=[*self._back, self.cursor]
            )

    @rx.event
    async def prev_page(self) -> None:
        """The detail page before the shown one."""
        if self._back:
            await self._show(self._choices(cursor=self._back[-1]), back=self._back[:-1])
