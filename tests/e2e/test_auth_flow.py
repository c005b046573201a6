"""Sign-up, sign-in, sign-out and the guarded pages, in Debian Chromium."""

from __future__ import annotations

import contextlib
import re

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.support.factories import PASSWORD, unique_email

pytestmark = pytest.mark.e2e


def _sign_up(page, base: str, email: str) -> None:
    page.goto(base + "/register")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#submit")


def test_sign_up_reload_sign_out_and_guarded_console(app_server, browser_context):
    page = browser_context.new_page()
    base = app_server.url
    email = unique_email("e2e")

    _sign_up(page, base, email)
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("#signed-in-email")).to_have_text(email)
    expect(page.get_by_role("heading", name="概览")).to_be_visible()

    # The session cookie is HttpOnly: page scripts cannot read it.
    assert "imgapp_session" not in page.evaluate("document.cookie")
    cookie = next(c for c in browser_context.cookies() if c["name"] == "imgapp_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"

    page.reload()
    expect(page.locator("#signed-in-email")).to_have_text(email)

    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/login/?\?signed_out=1"))
    expect(page.locator("#form-notice")).to_have_text("你已退出登录。")

    page.goto(base + "/console")
    page.wait_for_url(re.compile(r"/login/?\?next=%2Fconsole"))
    expect(page.locator("#email")).to_be_visible()


def test_sign_in_comes_back_to_the_page_asked_for(app_server, browser_context):
    base = app_server.url
    email = unique_email("back")
    httpx.post(base + "/api/auth/register", json={"email": email, "password": PASSWORD})
    page = browser_context.new_page()

    page.goto(base + "/usage")
    page.wait_for_url(re.compile(r"/login"))
    page.fill("#email", email)
    page.fill("#password", "not the password")
    page.click("#submit")
    expect(page.locator("#form-error")).to_have_text("邮箱或密码错误。")
    expect(page.locator("#email")).to_have_value(email)  # kept for the next try

    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(re.compile(r"/usage/?$"))
    expect(page.locator("#signed-in-email")).to_have_text(email)


def test_revoked_session_ends_on_the_next_event(app_server, browser_context):
    base = app_server.url
    page = browser_context.new_page()
    _sign_up(page, base, unique_email("revoke"))
    page.wait_for_selector("#signed-in-email")

    # Sign this browser's session out from elsewhere (another tab, a script).
    token = next(c["value"] for c in browser_context.cookies() if c["name"] == "imgapp_session")
    with httpx.Client(
        base_url=base, cookies={"imgapp_session": token}, headers={"origin": base}
    ) as other:
        assert other.post("/api/auth/logout").status_code == 200

    # The tab leaves for sign-in on its own within about a second (the live
    # session check); if it is still here, its next event takes it there.
    with contextlib.suppress(PlaywrightError):
        page.get_by_role("link", name="控制台").click(timeout=3_000)
    page.wait_for_url(re.compile(r"/login"))
    expect(page.locator("#signed-in-email")).to_have_count(0)


def test_language_switch_persists_in_this_browser(app_server, browser_context):
    base = app_server.url
    page = browser_context.new_page()
    page.goto(base + "/login")
    expect(page.locator("#submit")).to_have_text("登录")

    page.click("#language-switch")
    expect(page.locator("#submit")).to_have_text("Sign in")
    page.reload()
    expect(page.locator("#submit")).to_have_text("Sign in")

    _sign_up(page, base, unique_email("lang"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("link", name="Console")).to_be_visible()


def test_the_form_keeps_the_latest_attempts_email(app_server, browser_context):
    page = browser_context.new_page()
    page.goto(app_server.url + "/login")
    for email in ("first@example.com", "second@example.com"):
        page.fill("#email", email)
        page.fill("#password", "wrong password")
        page.click("#submit")
        expect(page.locator("#form-error")).to_be_visible()
        expect(page.locator("#email")).to_have_value(email)
