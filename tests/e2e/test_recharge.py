"""Recharge in Chromium on the sandbox gateway: pay in a second tab, the first turns paid."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import sign_up
from tests.support.factories import unique_email

pytestmark = pytest.mark.e2e


def test_paying_in_a_second_tab_turns_the_order_paid_live(app_server, browser_context):
    page = browser_context.new_page()
    sign_up(page, app_server, unique_email("pay"))
    page.goto(app_server.url + "/recharge")
    page.locator(".preset", has_text="50.00").click()
    expect(page.locator("#credits-preview")).to_have_text("500")
    page.click("#create-order")
    expect(page.locator("#order-status")).to_have_attribute("data-status", "pending")
    expect(page.locator("#order-qr")).to_be_visible()
    expect(page.locator("#sandbox-label")).to_be_visible()
    order_id = page.locator("#order-id").inner_text()
    order = page.request.get(f"{app_server.url}/api/payments/{order_id}").json()
    assert order["qr"].startswith(app_server.url + "/api/sandbox/xorpay/checkout/")

    checkout = browser_context.new_page()
    checkout.goto(order["qr"])
    expect(checkout.locator("#sandbox-badge")).to_be_visible()
    expect(checkout.locator("#checkout-amount")).to_contain_text("50.00")
    checkout.click("#checkout-pay")
    expect(checkout.locator("#checkout-state")).to_contain_text("Paid")

    # The first tab changes without a reload: the order, then the header balance.
    expect(page.locator("#order-status")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#order-paid")).to_be_visible()
    expect(page.locator("#header-balance")).to_have_text("500")
    page.reload()
    expect(page.locator(f'[data-order-id="{order_id}"]')).to_have_attribute(
        "data-status", "succeeded"
    )
    expect(page.locator("#header-balance")).to_have_text("500")


def test_a_bad_amount_is_explained_in_place(app_server, browser_context):
    page = browser_context.new_page()
    sign_up(page, app_server, unique_email("payerr"))
    page.goto(app_server.url + "/recharge")
    page.fill("#amount", "1.234")
    expect(page.locator("#credits-preview")).to_have_text("")
    page.click("#create-order")
    expect(page.locator("#pay-error")).to_contain_text("两位小数")
    page.fill("#amount", "2000")
    page.click("#create-order")
    expect(page.locator("#pay-error")).to_contain_text("1000.00")
    expect(page.locator("#pay-error")).to_contain_text("支付宝")
    expect(page.locator("#order-status")).to_have_count(0)
