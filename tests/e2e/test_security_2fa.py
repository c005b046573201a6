"""Two-factor sign-in and API keys on `/security`, and sign-in's second step, in Chromium."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import sign_up
from tests.support.factories import PASSWORD, unique_email
from tests.support.totp import wrong_code

pytestmark = pytest.mark.e2e

OTP_INVALID = "验证码不正确"


def _turn_on(page: Page) -> tuple[pyotp.TOTP, list[str]]:
    """Turn 2FA on in the page with a code computed from the secret it shows."""
    page.click("#two-factor-on")
    expect(page.locator("#totp-qr")).to_be_visible()
    shown = page.locator("#totp-secret").inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4} )*[A-Z2-7]{1,4}", shown), shown  # grouped in fours
    totp = pyotp.TOTP(shown.replace(" ", ""))

    page.fill("#totp-code", wrong_code(totp))
    page.click("#two-factor-enable")
    expect(page.locator("#two-factor-error")).to_contain_text(OTP_INVALID)

    page.fill("#totp-code", totp.now())
    page.click("#two-factor-enable")
    expect(page.locator("#codes-warning")).to_be_visible()
    codes = page.locator("#recovery-codes .recovery-code")
    expect(codes).to_have_count(10)
    return totp, codes.all_inner_texts()


def _sign_out(page: Page) -> None:
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/login/?\?signed_out=1"))


def _sign_in_asks_for_a_code(page: Page, base: str, email: str) -> None:
    """Open /security signed out, give the password: the code step comes back with `next`."""
    page.goto(base + "/security")
    page.wait_for_url(re.compile(r"/login/?\?next="))
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(re.compile(r"error=otp_required"))
    assert "next=%2Fsecurity" in page.url
    expect(page.locator("#otp")).to_be_visible()
    expect(page.locator("#otp")).to_have_attribute("autocomplete", "one-time-code")
    expect(page.locator("#otp")).to_have_attribute("inputmode", "numeric")
    expect(page.locator("#email")).to_have_value(email)
    # The browser does not carry the password over the redirect: the page says so.
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("#password-again")).to_be_visible()
    expect(page.locator("#form-error")).to_have_count(0)  # a step, not a mistake
    expect(page.locator("#form-notice")).to_be_visible()


def _give_code(page: Page, code: str) -> None:
    page.fill("#password", PASSWORD)
    page.fill("#otp", code)
    page.click("#submit")


def test_two_factor_on_then_sign_in_with_a_code_and_with_recovery_codes(
    app_server, browser_context
):
    base = app_server.url
    page = browser_context.new_page()
    email = unique_email("tfa")
    sign_up(page, app_server, email)
    page.goto(base + "/security")
    expect(page.locator("#two-factor-badge")).to_have_text("未开启")

    totp, codes = _turn_on(page)
    assert len(set(codes)) == 10

    # The download holds exactly the codes on screen, one a line.
    with page.expect_download() as info:
        page.click("#download-codes")
    download = info.value
    assert download.suggested_filename == "imgapp-recovery-codes.txt"
    assert Path(download.path()).read_text().split() == codes

    page.click("#codes-stored")
    expect(page.locator("#recovery-codes")).to_have_count(0)  # shown once
    expect(page.locator("#two-factor-badge")).to_have_text("已开启")
    expect(page.locator("#two-factor-status")).to_contain_text("10")

    # Sign in again: asked for a code; a wrong one is refused, the right one signs in.
    _sign_out(page)
    _sign_in_asks_for_a_code(page, base, email)
    _give_code(page, wrong_code(totp))
    page.wait_for_url(re.compile(r"error=otp_invalid"))
    expect(page.locator("#form-error")).to_contain_text(OTP_INVALID)
    expect(page.locator("#otp")).to_be_visible()
    assert "next=%2Fsecurity" in page.url
    # The step after the one that turned it on (a step is never accepted twice).
    _give_code(page, totp.at(time.time() + 30))
    page.wait_for_url(re.compile(r"/security/?$"))
    expect(page.locator("#signed-in-email")).to_have_text(email)

    # A recovery code signs in once; the second time it is refused.
    for attempt in ("first", "second"):
        _sign_out(page)
        _sign_in_asks_for_a_code(page, base, email)
        page.click("#otp-mode")  # letters on a phone's keyboard
        expect(page.locator("#otp")).to_have_attribute("inputmode", "text")
        _give_code(page, codes[0])
        if attempt == "first":
            page.wait_for_url(re.compile(r"/security/?$"))
            expect(page.locator("#two-factor-status")).to_contain_text("9")
        else:
            page.wait_for_url(re.compile(r"error=otp_invalid"))
            expect(page.locator("#form-error")).to_contain_text(OTP_INVALID)
    _give_code(page, codes[1])
    page.wait_for_url(re.compile(r"/security/?$"))
    expect(page.locator("#two-factor-status")).to_contain_text("8")


def test_new_recovery_codes_after_confirming_and_turning_it_off(app_server, browser_context):
    page = browser_context.new_page()
    sign_up(page, app_server, unique_email("tfa-off"))
    page.goto(app_server.url + "/security")
    totp, codes = _turn_on(page)
    page.click("#codes-stored")

    # New recovery codes: confirm it's you (password and a code) first, then they appear.
    page.click("#new-recovery-codes")
    expect(page.locator("#reauth-code")).to_be_visible()
    page.fill("#reauth-password", PASSWORD)
    page.fill("#reauth-code", codes[2])
    page.click("#reauth-confirm")
    fresh = page.locator("#recovery-codes .recovery-code")
    expect(fresh).to_have_count(10)
    assert not set(fresh.all_inner_texts()) & set(codes)
    expect(page.locator("#reauth-until-codes")).to_be_visible()
    new_codes = fresh.all_inner_texts()
    page.click("#codes-stored")

    # Turning it off takes the password and a code; a wrong code is refused next to the form.
    page.click("#two-factor-off")
    page.fill("#off-password", PASSWORD)
    page.fill("#off-code", wrong_code(totp))
    page.click("#two-factor-off-confirm")
    expect(page.locator("#two-factor-off-error")).to_contain_text(OTP_INVALID)
    page.fill("#off-password", PASSWORD)
    page.fill("#off-code", new_codes[0])
    page.click("#two-factor-off-confirm")
    expect(page.locator("#two-factor-turned-off")).to_be_visible()
    expect(page.locator("#two-factor-badge")).to_have_text("未开启")


def test_api_key_made_after_confirming_works_until_revoked(app_server, browser_context):
    base = app_server.url
    page = browser_context.new_page()
    sign_up(page, app_server, unique_email("keys"))
    page.goto(base + "/security")
    expect(page.locator("#api-keys-empty")).to_be_visible()

    page.fill("#key-name", "e2e script")
    page.click("#create-key")
    # No recent confirmation: the card asks first (no 2FA, so the password only).
    expect(page.locator("#reauth-form")).to_be_visible()
    expect(page.locator("#reauth-code")).to_have_count(0)
    page.fill("#reauth-password", "not the password")
    page.click("#reauth-confirm")
    expect(page.locator("#reauth-error")).to_be_visible()
    page.fill("#reauth-password", PASSWORD)
    page.click("#reauth-confirm")

    # ... and then makes the key it was asked for, shown once.
    key = page.locator("#new-key")
    expect(key).to_have_value(re.compile(r"^imgk_[a-z0-9]{8}_"))
    expect(page.locator("#key-warning")).to_be_visible()
    expect(page.locator("#reauth-until-key")).to_be_visible()
    secret = key.input_value()
    row = page.locator("#api-keys tbody tr").first
    expect(row).to_contain_text("e2e script")
    expect(row).to_contain_text(secret[:13])  # the prefix
    expect(row.locator(".key-status")).to_have_text("有效")

    bearer = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(base + "/api/billing/summary", headers=bearer).status_code == 200
    page.reload()
    expect(page.locator("#api-keys tbody tr").first).to_contain_text("127.0.0.1")  # last use
    expect(page.locator("#new-key")).to_have_count(0)  # never shown again

    # Another key without a scope: the error is the catalogue's, next to the scopes.
    page.fill("#key-name", "no scopes")
    page.click("#scope-read")
    page.click("#create-key")
    expect(page.locator("#key-scopes-error")).to_contain_text("请从以下权限中选择")
    expect(page.locator("#reauth-form")).to_have_count(0)  # still confirmed

    page.locator("#api-keys .revoke-key").first.click()
    expect(page.locator("#api-keys .key-status").first).to_have_text("已吊销")
    assert httpx.get(base + "/api/billing/summary", headers=bearer).status_code == 401


def test_email_change_asks_for_a_code_only_with_two_factor_on(app_server, browser_context):
    base = app_server.url
    page = browser_context.new_page()
    sign_up(page, app_server, unique_email("mail"))
    page.goto(base + "/account")
    expect(page.locator("#new_email")).to_be_visible()
    expect(page.locator("#email_code")).to_have_count(0)

    origin = {"origin": base}  # the browser's cookie, sent as a script on this site would
    secret = page.request.post(base + "/api/auth/2fa/setup", headers=origin).json()["secret"]
    totp = pyotp.TOTP(secret)
    enabled = page.request.post(
        base + "/api/auth/2fa/enable", headers=origin, data={"code": totp.now()}
    )
    assert enabled.ok
    page.reload()
    expect(page.locator("#email_code")).to_be_visible()
    new_email = unique_email("moved")
    page.fill("#new_email", new_email)
    page.fill("#email_current_password", PASSWORD)
    page.fill("#email_code", totp.at(time.time() + 30))
    page.click("#change-email")
    expect(page.locator("#email-ok")).to_be_visible()
    expect(page.locator("#current-email")).to_have_text(new_email)


def test_the_webhook_secret_shows_on_request_and_is_replaced_after_confirming(
    app_server, browser_context
):
    page = browser_context.new_page()
    sign_up(page, app_server, unique_email("whsec"))
    page.goto(app_server.url + "/security")
    expect(page.locator("#webhook-secret")).to_have_count(0)  # not on the page until asked
    page.click("#webhook-secret-show")
    secret = page.locator("#webhook-secret")
    expect(secret).to_have_value(re.compile(r"^whsec_[A-Za-z0-9+/=]{32}$"))
    first = secret.input_value()
    assert page.request.get(app_server.url + "/api/webhooks/secret").json()["secret"] == first

    page.click("#webhook-secret-rotate")
    expect(page.locator("#reauth-form")).to_be_visible()
    page.fill("#reauth-password", PASSWORD)
    page.click("#reauth-confirm")
    expect(secret).not_to_have_value(first)
    expect(secret).to_have_value(re.compile(r"^whsec_"))
    assert page.request.get(app_server.url + "/api/webhooks/secret").json()["secret"] == (
        secret.input_value()
    )
    page.click("#webhook-secret-hide")
    expect(page.locator("#webhook-secret")).to_have_count(0)
