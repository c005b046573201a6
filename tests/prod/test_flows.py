"""The browser's core flows through nginx, with the webhooks and the work elsewhere.

The page talks to nginx (its socket lands on either app process); each
recharge's notification goes straight to one named app process, one to each,
so at least one of them is credited by a process that does not hold the
page; generation runs in the standalone workers. Everything the page shows
arrives live.
"""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.support import books
from tests.support.browser import progress_messages, sign_up
from tests.support.factories import PASSWORD
from tests.support.pictures import picture
from tests.support.shape_client import pay


def _card(page, task_id: str):
    return page.locator(f".task-card[data-task-id='{task_id}']")


def _order(page, shape) -> dict[str, object]:
    order_id = page.locator("#order-id").inner_text()
    return page.request.get(f"{shape.url}/api/payments/{order_id}").json()


def _edit_a_big_picture(page, shape, tmp_path) -> None:
    """A 3 MB picture to edit passes nginx (over its 1 MiB default), page and API alike."""
    big = tmp_path / "big.png"
    big.write_bytes(picture("PNG", size=(1000, 1000), compress_level=0))
    assert big.stat().st_size > 2_000_000
    page.set_input_files("#edit-image input[type=file]", str(big))
    expect(page.locator("#edit-image-preview")).to_be_visible(timeout=30_000)
    edit = page.request.post(
        shape.url + "/api/generate-image/edits",
        multipart={
            "prompt": "make it autumn",
            "size": "512x512",
            "image": {"name": "big.png", "mimeType": "image/png", "buffer": big.read_bytes()},
        },
        headers={"Origin": shape.url},
    )
    assert edit.status == 202, edit.text()
    edit_url = f"{shape.url}/api/generate-image/{edit.json()['task_id']}"
    deadline = time.monotonic() + 60
    while page.request.get(edit_url).json()["status"] != "completed":  # by a standalone worker
        assert time.monotonic() < deadline, page.request.get(edit_url).json()
        time.sleep(0.5)
    expect(page.locator("#header-balance")).to_have_text("588")


def test_sign_up_recharge_generate_and_cancel_through_nginx(shape, browser_context, tmp_path):
    email = f"shape-flow-{time.time_ns()}@example.com"
    page = browser_context.new_page()
    sign_up(page, shape, email)
    first_app, second_app = shape.app_urls()

    # Two recharges on the page; each paid through a different app process.
    page.goto(shape.url + "/recharge")
    for amount, via, balance in (("50.00", first_app, "500"), ("10.00", second_app, "600")):
        page.fill("#amount", amount)
        page.click("#create-order")
        expect(page.locator("#order-status")).to_have_attribute("data-status", "pending")
        order = _order(page, shape)
        # The sandbox's checkout opens on either process (its orders live in Redis).
        for app in (first_app, second_app):
            checkout = page.request.get(
                app + "/api/sandbox/xorpay/checkout/" + order["qr"].rsplit("/", 1)[1]
            )
            assert checkout.status == 200
        pay(order, via=via)
        expect(page.locator("#order-status")).to_have_attribute("data-status", "succeeded")
        expect(page.locator("#header-balance")).to_have_text(balance)

    # Generation in the workers: progress moves on the page, no reload.
    page.goto(shape.url + "/console")
    page.fill("#prompt", "a lighthouse at dusk, oil painting")
    page.click("#generate")
    first = page.locator(".task-card").first
    expect(first).to_be_visible()
    task_id = first.get_attribute("data-task-id")
    seen = progress_messages(page, task_id, at_least=2, seconds=60)
    assert len(seen) >= 2, seen

    # A second task cancelled: the credits come back live.
    page.click("#generate")
    expect(page.locator(".task-card")).to_have_count(2)
    second = page.locator(".task-card").first
    second_id = second.get_attribute("data-task-id")
    second.locator(".task-cancel").click()
    expect(_card(page, second_id)).to_have_attribute("data-status", "cancelled")
    expect(_card(page, task_id)).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(page.locator("#header-balance")).to_have_text("592")

    _edit_a_big_picture(page, shape, tmp_path)

    # Another browser signs in through nginx and sees the same truth.
    other = browser_context.browser.new_context(locale="zh-CN").new_page()
    other.goto(shape.url + "/login")
    other.fill("#email", email)
    other.fill("#password", PASSWORD)
    other.click("#submit")
    expect(other.locator("#signed-in-email")).to_have_text(email)
    other.goto(shape.url + "/console")
    expect(_card(other, task_id)).to_have_attribute("data-status", "completed")
    expect(_card(other, second_id)).to_have_attribute("data-status", "cancelled")
    expect(other.locator("#header-balance")).to_have_text("588")
    other.context.close()

    assert books.problems(shape.database_url) == []
