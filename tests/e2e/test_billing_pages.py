"""Dashboard and account pages in Chromium: balance, ledger, profile edits, statement CSV."""

from __future__ import annotations

import contextlib
import re

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.support.browser import grant, sign_up
from tests.support.factories import PASSWORD, unique_email

pytestmark = pytest.mark.e2e

KEY = "test-internal-api-key-0123456789"


def _signed_up(app_server, browser_context, prefix: str):
    """A new account, signed in, on its dashboard."""
    email = unique_email(prefix)
    page = browser_context.new_page()
    sign_up(page, app_server, email)
    return page, email


def _user_id(app_server, page) -> int:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "imgapp_session")
    me = httpx.get(app_server.url + "/api/auth/me", cookies={"imgapp_session": token})
    return me.json()["id"]


def test_dashboard_shows_balance_value_usage_and_transactions(app_server, browser_context):
    page, email = _signed_up(app_server, browser_context, "dash")
    expect(page.locator("#dashboard-balance")).to_have_text("0")
    expect(page.locator("#recent-usage-empty")).to_be_visible()

    grant(app_server, email, 200)
    deduct = httpx.post(
        app_server.url + "/api/billing/deduct",
        json={
            "user_id": _user_id(app_server, page),
            "amount": 15,
            "idempotency_key": "e2e-1",
            "reason": "海报渲染",
        },
        headers={"x-api-key": KEY},
    )
    assert deduct.status_code == 200, deduct.text

    page.reload()  # the live push of balances lands with the task queue
    expect(page.locator("#dashboard-balance")).to_have_text("185")
    expect(page.locator("#header-balance")).to_have_text("185")
    expect(page.locator("#balance-value")).to_have_text("¥18.50")
    expect(page.locator("#recent-usage")).to_contain_text("海报渲染")
    expect(page.locator("#recent-entries")).to_contain_text("-15")
    expect(page.locator("#recent-entries")).to_contain_text("消费")


def test_account_profile_email_password_and_statement(app_server, browser_context, tmp_path):
    page, email = _signed_up(app_server, browser_context, "acct")
    grant(app_server, email, 50)
    page.goto(app_server.url + "/account")
    expect(page.locator("#account-entries")).to_contain_text("+50")

    page.fill("#display_name", "Grace")
    page.click("#save-profile")
    expect(page.locator("#profile-ok")).to_be_visible()
    expect(page.locator("#signed-in-email")).to_have_text("Grace")

    new_email = unique_email("moved")
    page.fill("#new_email", new_email)
    page.fill("#email_current_password", "not my password")
    page.click("#change-email")
    expect(page.locator("#email-error")).to_have_text("当前密码不正确。")
    page.fill("#new_email", new_email)
    page.fill("#email_current_password", PASSWORD)
    page.click("#change-email")
    expect(page.locator("#email-ok")).to_be_visible()
    expect(page.locator("#current-email")).to_have_text(new_email)

    page.fill("#password_current_password", PASSWORD)
    page.fill("#new_password", "a brand new secret")
    page.click("#change-password")
    expect(page.locator("#password-ok")).to_be_visible()
    relogin = httpx.post(
        app_server.url + "/api/auth/login",
        json={"email": new_email, "password": "a brand new secret"},
    )
    assert relogin.status_code == 200

    with page.expect_download() as download:
        page.click("#download-statement")
    content = tmp_path / "s.csv"
    download.value.save_as(content)
    text = content.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "time,entry_id,kind,amount,balance_after,reference,description"
    assert ",adjustment,50,50," in text


def test_an_event_after_revocation_goes_to_sign_in(app_server, browser_context):
    page, email = _signed_up(app_server, browser_context, "guard")
    page.goto(app_server.url + "/account")
    expect(page.locator("#save-profile")).to_be_visible()
    token = next(c["value"] for c in browser_context.cookies() if c["name"] == "imgapp_session")
    with httpx.Client(
        base_url=app_server.url,
        cookies={"imgapp_session": token},
        headers={"origin": app_server.url},
    ) as other:
        assert other.post("/api/auth/logout").status_code == 200

    # A state event, not a page load: the guard stops it. The tab may also leave
    # for sign-in on its own first (the live session check, about a second).
    with contextlib.suppress(PlaywrightError):
        page.fill("#display_name", "Should not save", timeout=3_000)
        page.click("#save-profile", timeout=3_000)
    page.wait_for_url(re.compile(r"/login"))
    expect(page.locator("#profile-ok")).to_have_count(0)
    with httpx.Client(base_url=app_server.url, headers={"origin": app_server.url}) as again:
        signed_in = again.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert signed_in.status_code == 200
        assert again.get("/api/auth/me").json()["display_name"] != "Should not save"
