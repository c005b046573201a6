"""The usage report in Chromium: ranges, groups, chart, tables, paging, both CSVs, live updates."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import grant, sign_up
from tests.support.factories import unique_email

pytestmark = pytest.mark.e2e

KEY = "test-internal-api-key-0123456789"
SITE_ZONE = ZoneInfo("Asia/Shanghai")


def _session(page: Page) -> dict[str, str]:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "imgapp_session")
    return {"imgapp_session": token}


def _user_id(app_server, page: Page) -> int:
    me = httpx.get(app_server.url + "/api/auth/me", cookies=_session(page))
    return me.json()["id"]


def _task_card(page: Page, task_id: str):
    return page.locator(f".task-card[data-task-id='{task_id}']")


def _submit(page: Page, prompt: str) -> str:
    """Queue one task on the console; its id."""
    before = page.locator(".task-card").count()
    page.fill("#prompt", prompt)
    page.click("#generate")
    expect(page.locator(".task-card")).to_have_count(before + 1)
    return page.locator(".task-card").first.get_attribute("data-task-id") or ""


def _download(page: Page, button: str, tmp_path) -> list[dict[str, str]]:
    with page.expect_download() as download:
        page.click(button)
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    return list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))


def _cells(page: Page, table: str) -> dict[str, list[str]]:
    """Each body row of a table by its data-key: its cells' texts."""
    rows = page.locator(f"#{table} tbody tr")
    return {
        rows.nth(i).get_attribute("data-key") or "": [
            c.strip() for c in rows.nth(i).locator("td").all_inner_texts()
        ]
        for i in range(rows.count())
    }


def _number(text: str) -> int:
    return int(text.replace(",", "").replace("+", "") or 0)


def _make_usage(page: Page, app_server, email: str) -> None:
    """200 credits granted; one task completes, one is cancelled (charged, then refunded)."""
    grant(app_server, email, 200)
    page.goto(app_server.url + "/console")
    expect(page.locator("#header-balance")).to_have_text("200")
    done = _submit(page, "a lighthouse at dusk")
    cancelled = _submit(page, "a harbour in fog")
    _task_card(page, cancelled).locator(".task-cancel").click()
    expect(_task_card(page, cancelled)).to_have_attribute("data-status", "cancelled")
    expect(_task_card(page, done)).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(page.locator("#header-balance")).to_have_text("192")


def _check_the_default_view(page: Page, app_server) -> None:
    """The last 30 days by day, in the site's zone: totals, chart with balance, both tables."""
    page.goto(app_server.url + "/usage")
    expect(page.locator("#usage-preset-30d")).to_have_attribute("aria-pressed", "true")
    today = datetime.now(SITE_ZONE).date()
    first = today - timedelta(days=29)
    expect(page.locator("#usage-range")).to_have_text(f"{first} – {today}")
    expect(page.locator("#usage-zone")).to_have_text("Asia/Shanghai")
    for card, value in (("spent", "16"), ("refunded", "8"), ("net", "8"), ("images", "1")):
        expect(page.locator(f"#usage-total-{card}")).to_have_text(value)
    expect(page.locator("#usage-total-tasks")).to_have_text("2")
    expect(page.locator("#usage-total-adjusted")).to_have_text("+200")
    by_status = page.locator("#usage-tasks-by-status")
    expect(by_status.locator("[data-status='completed']")).to_contain_text("1")
    expect(by_status.locator("[data-status='cancelled']")).to_contain_text("1")
    chart = page.locator("#usage-chart")
    expect(chart).to_have_attribute("data-points", "30")
    expect(chart.locator(".recharts-line")).to_have_count(1)  # the balance
    expect(page.locator("#usage-groups tbody tr")).to_have_count(30)
    today_row = page.locator(f"#usage-groups tr[data-key='{today}']")
    expect(today_row.locator("td").nth(1)).to_have_text("16")
    expect(today_row.locator("td").last).to_have_text("192")  # the day's closing balance
    expect(page.locator("#usage-rows tbody tr")).to_have_count(4)
    refund = page.locator("#usage-rows .usage-refund-of")
    expect(refund).to_have_count(1)
    expect(refund).to_contain_text("退款对应 #")


def _check_today_by_model(page: Page) -> dict[str, list[str]]:
    """Today, grouped by model: one chart point per model, bars only; the groups shown."""
    today = datetime.now(SITE_ZONE).date()
    chart = page.locator("#usage-chart")
    page.click("#usage-preset-today")
    expect(page.locator("#usage-range")).to_have_text(str(today))
    expect(chart).to_have_attribute("data-points", "1")
    page.select_option("#usage-group", "model")
    expect(chart).to_have_attribute("data-group", "model")
    expect(chart).to_have_attribute("data-points", "2")  # the model, and the grant (no model)
    expect(chart.locator(".recharts-line")).to_have_count(0)
    expect(chart.locator(".recharts-bar-rectangle").first).to_be_visible()
    groups = _cells(page, "usage-groups")
    assert set(groups) == {"gpt-image-1", ""}
    assert groups["gpt-image-1"][1:4] == ["16", "8", "8"]
    return groups


def _check_the_csvs(page: Page, app_server, groups: dict[str, list[str]], tmp_path) -> None:
    """Both downloads hold exactly what the page shows, and what the JSON API says."""
    shown_rows = _cells(page, "usage-rows")
    detail = _download(page, "#usage-csv-rows", tmp_path)
    assert {r["entry_id"] for r in detail} == set(shown_rows)
    for row in detail:
        cells = shown_rows[row["entry_id"]]
        assert row["time"][:19].replace("T", " ") == cells[0]
        assert (row["model"], row["size"]) == (cells[2], cells[3])
        assert int(row["amount"]) == _number(cells[5])
        assert int(row["balance_after"]) == _number(cells[6])
    assert sorted(r["kind"] for r in detail) == ["adjustment", "charge", "charge", "refund"]
    grouped = _download(page, "#usage-csv-groups", tmp_path)
    assert {r["key"] for r in grouped} == set(groups)
    for row in grouped:
        cells = groups[row["key"]]
        figures = [row[n] for n in ("spent", "refunded", "net", "recharged", "rewarded")]
        assert [str(_number(c)) for c in cells[1:6]] == figures
        assert _number(cells[6]) == int(row["adjusted"])
        counts = [int(row[n]) for n in ("images", "tasks", "entries")]
        assert [_number(c) for c in cells[7:10]] == counts
    today = datetime.now(SITE_ZONE).date()
    report = httpx.get(
        app_server.url + "/api/usage/report",
        params={"from": str(today), "to": str(today + timedelta(days=1)), "group_by": "model"},
        cookies=_session(page),
    ).json()
    assert {str(r["entry_id"]) for r in report["rows"]} == set(shown_rows)
    assert report["totals"]["spent"] == _number(page.locator("#usage-total-spent").inner_text())


def _check_paging(page: Page, app_server, email: str) -> None:
    """21 more charges make two pages of 20 rows; previous comes back to the first."""
    user_id = _user_id(app_server, page)
    for n in range(21):
        deduct = httpx.post(
            app_server.url + "/api/billing/deduct",
            json={
                "user_id": user_id,
                "amount": 1,
                "idempotency_key": f"usage-e2e-{email}-{n}",
                "reason": "e2e",
            },
            headers={"x-api-key": KEY},
        )
        assert deduct.status_code == 200, deduct.text
    page.select_option("#usage-group", "day")
    expect(page.locator("#usage-total-spent")).to_have_text("37")
    rows = page.locator("#usage-rows tbody tr")
    expect(rows).to_have_count(20)
    expect(page.locator("#usage-prev")).to_be_disabled()
    first_page = set(_cells(page, "usage-rows"))
    page.click("#usage-next")
    expect(rows).to_have_count(5)
    expect(page.locator("#usage-next")).to_be_disabled()
    assert not first_page & set(_cells(page, "usage-rows"))
    page.click("#usage-prev")
    expect(rows).to_have_count(20)
    assert set(_cells(page, "usage-rows")) == first_page
    page.select_option("#usage-sort", "time")  # oldest first: the grant leads
    expect(rows.first.locator("td").nth(1)).to_have_text("调整")


def test_usage_report_ranges_groups_tables_csvs_and_live_updates(
    app_server, browser_context, tmp_path
):
    email = unique_email("usage")
    page = browser_context.new_page()
    sign_up(page, app_server, email)
    _make_usage(page, app_server, email)
    _check_the_default_view(page, app_server)
    groups = _check_today_by_model(page)
    _check_the_csvs(page, app_server, groups, tmp_path)
    _check_paging(page, app_server, email)

    # Live: a task submitted in another tab shows in this one's totals, no reload.
    other = browser_context.new_page()
    other.goto(app_server.url + "/console")
    expect(other.locator(".task-card")).to_have_count(2)  # the earlier two, loaded
    _submit(other, "a windmill at noon")
    expect(page.locator("#usage-total-spent")).to_have_text("45")
    expect(page.locator("#usage-total-tasks")).to_have_text("3")


def test_time_zone_choice_bad_range_and_empty_report(app_server, browser_context):
    email = unique_email("usage-tz")
    page = browser_context.new_page()
    sign_up(page, app_server, email)

    # Nothing yet: the page says what to do next.
    page.goto(app_server.url + "/usage")
    expect(page.locator("#usage-empty")).to_be_visible()
    expect(page.locator("#usage-empty-console")).to_have_attribute("href", "/console")
    expect(page.locator("#usage-total-spent")).to_have_text("0")

    # A reversed custom range is refused in place; the shown range stays.
    shown = page.locator("#usage-range").inner_text()
    page.click("#usage-preset-custom")
    expect(page.locator("#usage-from")).to_be_visible()
    page.fill("#usage-from", "2026-11-10")
    page.fill("#usage-to", "2026-11-01")
    page.click("#usage-apply")
    expect(page.locator("#usage-error")).to_have_text("开始日期不能晚于结束日期。")
    expect(page.locator("#usage-range")).to_have_text(shown)
    page.fill("#usage-to", "2026-11-12")
    page.click("#usage-apply")
    expect(page.locator("#usage-range")).to_have_text("2026-11-10 – 2026-11-12")
    expect(page.locator("#usage-error")).to_have_count(0)

    # The account's zone: saved on /account, used by /usage and its CSV links at once.
    page.click("#usage-zone-link")
    page.wait_for_url("**/account")
    expect(page.locator("#time-zone-now")).to_have_text("Asia/Shanghai")
    page.select_option("#time_zone", "America/New_York")
    page.click("#save-time-zone")
    expect(page.locator("#time-zone-ok")).to_be_visible()
    expect(page.locator("#time-zone-now")).to_have_text("America/New_York")
    grant(app_server, email, 5)
    page.goto(app_server.url + "/usage")
    expect(page.locator("#usage-zone")).to_have_text("America/New_York")
    page.click("#usage-preset-today")
    today = datetime.now(ZoneInfo("America/New_York")).date()
    expect(page.locator("#usage-range")).to_have_text(str(today))
    expect(page.locator("#usage-total-adjusted")).to_have_text("+5")
    expect(page.locator("#usage-csv-rows")).to_have_attribute(
        "href",
        f"/api/usage/report?from={today}&to={today + timedelta(days=1)}"
        "&tz=America%2FNew_York&group_by=day&format=csv",
    )
