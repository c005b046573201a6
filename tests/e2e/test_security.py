"""Security in Chromium: sessions ended from another browser leave at once; new devices are told."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.browser import sign_up
from tests.support.factories import PASSWORD, unique_email
from tests.support.servers import AppProcess

pytestmark = pytest.mark.e2e

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _elsewhere(browser: Browser, network: str) -> BrowserContext:
    """Another computer: another browser on another network."""
    return browser.new_context(
        locale="zh-CN", user_agent=FIREFOX, extra_http_headers={"X-Forwarded-For": network}
    )


def _sign_in(page: Page, app: AppProcess, email: str) -> None:
    page.goto(app.url + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#signed-in-email")).to_have_text(email)


def test_a_session_ended_from_another_browser_leaves_its_open_page_at_once(
    app_server, browser, browser_context
):
    email = unique_email("sec")
    mine = browser_context.new_page()
    sign_up(mine, app_server, email)
    mine.click("nav >> text=安全")
    expect(mine).to_have_url(app_server.url + "/security")
    expect(mine.locator("#sessions tbody tr")).to_have_count(1)
    expect(mine.locator("#this-device")).to_be_visible()

    other = _elsewhere(browser, "198.51.100.23")
    try:
        laptop = other.new_page()
        _sign_in(laptop, app_server, email)
        laptop.goto(app_server.url + "/console")
        expect(laptop.locator("#signed-in-email")).to_have_text(email)
        # My open page learns of the new device and lists the new session, without a reload.
        expect(mine.locator("#new-device")).to_contain_text("198.51.100.23")
        expect(mine.locator("#new-device")).to_contain_text("Firefox")
        expect(mine.locator("#sessions tbody tr")).to_have_count(2)
        mine.click("#that-was-me")
        expect(mine.locator("#new-device")).to_have_count(0)

        started = time.monotonic()
        mine.locator(".revoke-session").click()
        expect(laptop).to_have_url(re.compile(r"/login\?"), timeout=2_000)
        assert time.monotonic() - started < 2.5
        expect(laptop.locator("#form-notice")).to_contain_text("已在其他地方被登出")
        expect(mine.locator("#sessions tbody tr")).to_have_count(1)
        # The cookie is refused everywhere now.
        assert laptop.request.get(app_server.url + "/api/auth/me").status == 401
    finally:
        other.close()

    # The log has both: the new device and the ended session, under "security".
    mine.select_option("#category", "security")
    mine.click("#filter-log")
    expect(mine.locator("#audit-events")).to_contain_text("198.51.100.23")
    rows = mine.locator("#audit-events tbody tr")
    expect(rows.first).to_contain_text("安全")
    with mine.expect_download() as download:
        mine.click("#export-csv")
    assert download.value.suggested_filename.endswith(".csv")
    with mine.expect_download() as download:
        mine.click("#export-json")
    assert download.value.suggested_filename.endswith(".json")


def test_this_wasnt_me_ends_the_strange_session_and_leads_to_the_password(
    app_server, browser, browser_context
):
    email = unique_email("notme")
    mine = browser_context.new_page()
    sign_up(mine, app_server, email)
    mine.goto(app_server.url + "/usage")
    stranger = _elsewhere(browser, "203.0.113.66")
    try:
        theirs = stranger.new_page()
        _sign_in(theirs, app_server, email)
        expect(mine.locator("#new-device")).to_contain_text("203.0.113.66")
        mine.click("#not-me")
        expect(mine).to_have_url(app_server.url + "/account#password")
        expect(mine.locator("#password")).to_be_visible()
        expect(theirs).to_have_url(re.compile(r"/login\?"), timeout=2_000)
    finally:
        stranger.close()


def test_signing_out_everywhere_else_sends_every_other_tab_to_sign_in(
    app_server, browser, browser_context
):
    email = unique_email("others")
    mine = browser_context.new_page()
    sign_up(mine, app_server, email)
    contexts = [_elsewhere(browser, f"192.0.2.{n}") for n in (10, 11)]
    try:
        pages = []
        for context in contexts:
            page = context.new_page()
            _sign_in(page, app_server, email)
            pages.append(page)
        mine.goto(app_server.url + "/security")
        expect(mine.locator("#sessions tbody tr")).to_have_count(3)
        mine.click("#revoke-others")
        expect(mine.locator("#others-ended")).to_contain_text("2")
        for page in pages:
            expect(page).to_have_url(re.compile(r"/login\?"), timeout=2_000)
        expect(mine.locator("#sessions tbody tr")).to_have_count(1)
        expect(mine.locator("#signed-in-email")).to_have_text(email)
    finally:
        for context in contexts:
            context.close()
