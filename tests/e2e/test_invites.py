"""Invites in Chromium: A shares the link; B signs up through it elsewhere and recharges; A sees."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import sign_up
from tests.support.factories import PASSWORD, unique_email
from tests.support.servers import AppProcess

pytestmark = pytest.mark.e2e


def _share(inviter: Page, app: AppProcess) -> tuple[str, str]:
    """On A's invites page: the link copied to the clipboard, the QR code, the poster."""
    inviter.click("nav >> text=邀请")
    expect(inviter).to_have_url(app.url + "/invites")
    link = inviter.locator("#invite-link")
    expect(link).to_have_value(re.compile(r"/register\?invite=[2-9A-Z]{8}$"))
    code = inviter.locator("#invite-code").inner_text()
    expect(inviter.locator("#invite-qr")).to_have_attribute("src", re.compile("^data:image/svg"))
    inviter.click("#copy-link")
    copied = inviter.evaluate("navigator.clipboard.readText()")
    assert copied == link.input_value() == f"{app.url}/register?invite={code}"
    expect(inviter.locator("#stat-invited")).to_have_text("0")
    with inviter.expect_download() as download:
        inviter.click("#download-poster")
    assert download.value.suggested_filename == f"imgapp-invite-{code}.png"
    return code, copied


def _join(friend: Page, link: str, code: str) -> str:
    """B opens the link, looks at sign-in first, then signs up; B's email."""
    friend.goto(link)
    expect(friend.locator("#invite_code")).to_have_value(code)
    friend.click("#to-login")
    expect(friend).to_have_url(re.compile(rf"/login\?invite={code}$"))
    friend.click("#to-register")
    expect(friend.locator("#invite_code")).to_have_value(code)
    email = unique_email("friend")
    friend.fill("#email", email)
    friend.fill("#password", PASSWORD)
    friend.click("#submit")
    expect(friend.locator("#signed-in-email")).to_have_text(email)
    return email


def _recharge(friend: Page, app: AppProcess) -> None:
    """B pays 50.00 through the sandbox checkout."""
    friend.goto(app.url + "/recharge")
    friend.locator(".preset", has_text="50.00").click()
    friend.click("#create-order")
    order_id = friend.locator("#order-id").inner_text()
    order = friend.request.get(f"{app.url}/api/payments/{order_id}").json()
    checkout = friend.context.new_page()
    checkout.goto(order["qr"])
    checkout.click("#checkout-pay")
    expect(checkout.locator("#checkout-state")).to_contain_text("Paid")
    expect(friend.locator("#header-balance")).to_have_text("500")


def test_an_invitee_signs_up_and_recharges_and_the_inviters_open_page_shows_the_reward(
    app_server, browser, browser_context
):
    browser_context.grant_permissions(["clipboard-read", "clipboard-write"])
    inviter = browser_context.new_page()
    sign_up(inviter, app_server, unique_email("inviter"))
    code, link = _share(inviter, app_server)

    # B is on another network (the same one would hold A's reward for review).
    elsewhere = browser.new_context(
        locale="zh-CN", extra_http_headers={"X-Forwarded-For": "203.0.113.7"}
    )
    try:
        friend = elsewhere.new_page()
        email = _join(friend, link, code)
        # A's page, untouched, lists B as waiting for a first recharge.
        row = inviter.locator("#invitees tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(email[0] + "***@example.com")
        expect(row).to_contain_text("等待首次充值")
        expect(inviter.locator("#stat-invited")).to_have_text("1")
        _recharge(friend, app_server)
    finally:
        elsewhere.close()

    # Without a reload, A sees B rewarded and the reward in the header balance.
    expect(row).to_contain_text("已奖励")
    expect(row).to_contain_text("100")
    expect(inviter.locator("#stat-rewarded")).to_have_text("1")
    expect(inviter.locator("#stat-credits_earned")).to_have_text("100")
    expect(inviter.locator("#header-balance")).to_have_text("100")
    inviter.reload()
    expect(inviter.locator("#invitees tbody tr")).to_contain_text("已奖励")
    expect(inviter.locator("#header-balance")).to_have_text("100")


def test_a_new_account_adds_its_inviters_code_on_the_page(app_server, browser_context):
    inviter = browser_context.new_page()
    sign_up(inviter, app_server, unique_email("inviter2"))
    inviter.goto(app_server.url + "/invites")
    code = inviter.locator("#invite-code").inner_text()
    inviter.click("#sign-out")
    expect(inviter).to_have_url(re.compile("/login"))

    page = browser_context.new_page()
    sign_up(page, app_server, unique_email("late"))
    page.goto(app_server.url + "/invites")
    page.fill("#bind_code", "22222222")
    page.click("#bind-submit")
    expect(page.locator("#bind-error")).to_contain_text("邀请码")
    page.fill("#bind_code", code.lower())
    page.click("#bind-submit")
    expect(page.locator("#bind-ok")).to_be_visible()
    expect(page.locator("#invited-by")).to_be_visible()
    expect(page.locator("#bind_code")).to_have_count(0)
