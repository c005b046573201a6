"""The console in Chromium: progress moves live, two tabs agree, cancel refunds live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import grant, progress_messages, sign_up
from tests.support.factories import unique_email
from tests.support.pictures import mask, picture

pytestmark = pytest.mark.e2e


def _card(page, task_id: str):
    return page.locator(f".task-card[data-task-id='{task_id}']")


def test_progress_moves_live_in_two_tabs_and_cancel_refunds_live(app_server, browser_context):
    email = unique_email("console")
    page = browser_context.new_page()
    sign_up(page, app_server, email)
    grant(app_server, email, 100)

    page.goto(app_server.url + "/console")
    other_tab = browser_context.new_page()
    other_tab.goto(app_server.url + "/console")
    expect(page.locator("#header-balance")).to_have_text("100")
    expect(other_tab.locator("#task-list-empty")).to_be_visible()

    page.fill("#prompt", "雪山下的小木屋, watercolour")
    expect(page.locator("#cost-preview")).to_have_text("8")
    page.click("#generate")
    first = page.locator(".task-card").first
    expect(first).to_be_visible()
    task_id = first.get_attribute("data-task-id")
    expect(page.locator("#header-balance")).to_have_text("92")

    # Progress messages change while we watch, with no reload, in both tabs.
    seen = progress_messages(page, task_id, at_least=3, seconds=30)
    assert len(seen) >= 3, seen
    expect(_card(other_tab, task_id)).to_be_visible()
    expect(_card(other_tab, task_id)).to_have_attribute("data-status", "processing")

    # A second task, cancelled: the credits come back in the other tab's header too.
    page.click("#generate")
    expect(page.locator(".task-card")).to_have_count(2)
    second = page.locator(".task-card").first
    second_id = second.get_attribute("data-task-id")
    assert second_id != task_id
    expect(other_tab.locator("#header-balance")).to_have_text("84")
    second.locator(".task-cancel").click()
    expect(_card(page, second_id)).to_have_attribute("data-status", "cancelled")
    expect(_card(other_tab, second_id)).to_have_attribute("data-status", "cancelled")
    expect(other_tab.locator("#header-balance")).to_have_text("92")

    # The first finishes; its image is in the history of both tabs, and survives a reload.
    expect(_card(page, task_id)).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(other_tab.locator(".history-item[data-status='completed'] img")).to_have_count(1)
    page.reload()
    expect(_card(page, task_id)).to_have_attribute("data-status", "completed")
    expect(_card(page, second_id)).to_have_attribute("data-status", "cancelled")
    image = page.locator("#history img").first
    expect(image).to_have_attribute("src", re.compile(r"^/api/images/\d+$"))


def test_form_errors_show_in_place(app_server, browser_context):
    email = unique_email("console-err")
    page = browser_context.new_page()
    sign_up(page, app_server, email)
    page.goto(app_server.url + "/console")
    page.click("#generate")
    expect(page.locator("#form-error")).to_have_text("请描述你想要的图片。")
    page.fill("#prompt", "a quiet harbour")
    page.click("#generate")
    expect(page.locator("#form-error")).to_contain_text("点数不足")
    expect(page.locator("#task-list-empty")).to_be_visible()


def test_a_waiting_task_shows_its_place_and_time_to_go_and_both_move_live(
    app_server, browser_context
):
    """Two run at once (TASK_CONCURRENCY=2): the fourth waits second in line, then runs."""
    email = unique_email("console-queue")
    page = browser_context.new_page()
    sign_up(page, app_server, email)
    grant(app_server, email, 100)
    page.goto(app_server.url + "/console")
    page.fill("#prompt", "灯塔与海鸥, 版画")
    page.click("#generate")  # one of this kind finishes: its time is what ETAs come from
    first = page.locator(".task-card").first
    expect(first).to_have_attribute("data-status", "completed", timeout=60_000)

    for n in range(4):
        page.click("#generate")
        expect(page.locator(".task-card")).to_have_count(n + 2)
    waiting = page.locator(".task-card").first  # the newest: behind two running, one waiting
    waiting_id = waiting.get_attribute("data-task-id")
    queue_text = _card(page, waiting_id).locator(".task-queue")
    expect(queue_text).to_contain_text(re.compile(r"排队第 \d+ 位"), timeout=20_000)
    expect(queue_text).to_contain_text(re.compile(r"预计还需约 \d+秒钟"))
    running = page.locator(".task-card[data-status='processing'] .task-queue").first
    expect(running).to_contain_text("预计还需约")
    # When a slot frees up it runs: its place goes, its time to go stays.
    expect(_card(page, waiting_id)).to_have_attribute("data-status", "processing", timeout=60_000)
    expect(queue_text).not_to_contain_text("排队第")
    expect(_card(page, waiting_id)).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(queue_text).to_have_count(0)


def _attach(page, which: str, path) -> None:
    page.set_input_files(f"#edit-{which} input[type=file]", str(path))
    expect(page.locator(f"#edit-{which}-preview")).to_be_visible(timeout=20_000)


def _progress(card) -> int:
    value = card.locator(".task-progress").get_attribute("data-value") or "0"
    return int(float(value))


def _refused_in_place(page, tmp_path) -> None:
    """Not a picture, whatever its name says: refused in place, nothing attached."""
    (tmp_path / "notes.png").write_bytes(b"just some text, not a picture")
    page.set_input_files("#edit-image input[type=file]", str(tmp_path / "notes.png"))
    expect(page.locator("#upload-error")).to_contain_text("不是 PNG、JPEG 或 WebP 图片")
    expect(page.locator("#edit-image-preview")).to_have_count(0)


def test_an_uploaded_picture_is_edited_under_a_mask_with_place_time_and_progress_live(
    app_server, browser_context, tmp_path
):
    """Two plain tasks take both slots; the edit waits first in line, then runs and completes."""
    email = unique_email("console-edit")
    page = browser_context.new_page()
    sign_up(page, app_server, email)
    grant(app_server, email, 200)
    page.goto(app_server.url + "/console")
    page.fill("#prompt", "秋天的枫叶")
    page.click("#generate")  # one finishes first: the measured time ETAs come from
    expect(page.locator(".task-card").first).to_have_attribute(
        "data-status", "completed", timeout=60_000
    )
    _refused_in_place(page, tmp_path)

    (tmp_path / "photo.jpg").write_bytes(picture("JPEG", size=(300, 200)))
    (tmp_path / "mask.png").write_bytes(mask((300, 200)))
    _attach(page, "image", tmp_path / "photo.jpg")
    expect(page.locator("#edit-picker")).to_contain_text("300×200")
    expect(page.locator("#upload-error")).to_have_count(0)
    _attach(page, "mask", tmp_path / "mask.png")
    expect(page.locator("#generate")).to_have_text("编辑图片")

    # Two drawn tasks take both slots; the edit comes third.
    page.locator("#edit-image-remove").click()
    expect(page.locator("#generate")).to_have_text("开始生成")
    for n in range(2):
        page.click("#generate")
        expect(page.locator(".task-card")).to_have_count(n + 2)
    _attach(page, "image", tmp_path / "photo.jpg")
    _attach(page, "mask", tmp_path / "mask.png")
    page.fill("#prompt", "把右半边换成秋天")
    page.click("#generate")
    expect(page.locator(".task-card")).to_have_count(4)
    edit = page.locator(".task-card").first
    edit_id = edit.get_attribute("data-task-id")
    card = _card(page, edit_id)
    expect(card.locator(".task-source img")).to_be_visible()
    expect(card.locator(".task-queue")).to_contain_text(re.compile(r"排队第 1 位"), timeout=20_000)
    expect(card.locator(".task-queue")).to_contain_text(re.compile(r"预计还需约 \d+秒钟"))
    expect(card).to_have_attribute("data-status", "processing", timeout=60_000)
    expect(card.locator(".task-queue")).not_to_contain_text("排队第")
    seen = set()
    for _ in range(60):
        if card.get_attribute("data-status") != "processing":
            break
        seen.add(_progress(card))
        page.wait_for_timeout(150)
    expect(card).to_have_attribute("data-status", "completed", timeout=60_000)
    assert len(seen - {0}) >= 2, seen  # the bar moved in steps while it ran
    result = card.locator("a img").last
    expect(result).to_be_visible()
    assert result.get_attribute("src").startswith("/api/images/")
    expect(page.locator("#header-balance")).to_contain_text("168")  # 200 - 4 x 8


def _history_item(page, task_id: str):
    return page.locator(f".history-item[data-task-id='{task_id}']")


def _search_star_and_filter(page) -> str:
    """Search finds the lighthouse, which is starred; filters narrow and clear; its id."""
    page.fill("#history-search", "灯塔")
    expect(page.locator(".history-item")).to_have_count(1)
    lighthouse = page.locator(".history-item").first
    lighthouse_id = lighthouse.get_attribute("data-task-id")
    lighthouse.locator(".history-star").click()
    expect(_history_item(page, lighthouse_id)).to_have_attribute("data-favourite", "1")
    page.click("#history-clear")
    expect(page.locator(".history-item")).to_have_count(3)
    page.click("#history-favourites")
    expect(page.locator(".history-item")).to_have_count(1)
    page.click("#history-favourites")
    page.fill("#history-from", "2026-11-24")
    page.fill("#history-to", "2026-11-20")
    expect(page.locator("#history-error")).to_have_text("截止日期不能早于起始日期。")
    page.click("#history-clear")
    page.select_option("#history-status", "cancelled")
    expect(page.locator("#history-empty")).to_contain_text("没有符合筛选条件的任务")
    page.click("#history-clear")
    return lighthouse_id


def test_the_history_searches_stars_deletes_and_retries_with_money_exact(
    app_server, browser_context
):
    email = unique_email("console-history")
    page = browser_context.new_page()
    sign_up(page, app_server, email)
    grant(app_server, email, 100)
    page.goto(app_server.url + "/console")
    for prompt in ("灯塔与海鸥", "雪山小屋", "城市夜景"):
        page.fill("#prompt", prompt)
        page.click("#generate")
    expect(page.locator(".task-card[data-status='completed']")).to_have_count(3, timeout=60_000)
    expect(page.locator("#history-total")).to_have_text("共 3 个任务")
    expect(page.locator(".history-item")).to_have_count(3)
    expect(page.locator("#header-balance")).to_contain_text("76")  # 100 - 3 x 8

    lighthouse_id = _search_star_and_filter(page)

    # Delete: two clicks; gone from the history and the task list; the money stays.
    night = page.locator(".history-item").first
    night_id = night.get_attribute("data-task-id")
    night.locator(".history-delete").click()
    night.locator(".history-delete-confirm").click()
    expect(_history_item(page, night_id)).to_have_count(0)
    expect(_card(page, night_id)).to_have_count(0)
    expect(page.locator("#history-total")).to_have_text("共 2 个任务")
    expect(page.locator("#header-balance")).to_contain_text("76")
    page.wait_for_timeout(1500)  # the live safety net's round reads the deleted task too
    expect(_card(page, night_id)).to_have_count(0)
    page.reload()
    expect(page.locator("#history-total")).to_have_text("共 2 个任务")
    expect(page.locator(".task-card")).to_have_count(2)

    # Retry a cancelled task: a new task with its settings, charged anew, runs to the end.
    page.fill("#prompt", "取消后重试")
    page.click("#generate")
    newest = page.locator(".task-card").first
    newest.locator(".task-cancel").click()
    expect(newest).to_have_attribute("data-status", "cancelled", timeout=20_000)
    expect(page.locator("#header-balance")).to_contain_text("76")  # refunded
    cancelled_id = newest.get_attribute("data-task-id")
    _history_item(page, cancelled_id).locator(".history-retry").click()
    expect(page.locator(".task-card").first).not_to_have_attribute("data-task-id", cancelled_id)
    expect(page.locator(".task-card").first).to_have_attribute(
        "data-status", "completed", timeout=60_000
    )
    expect(page.locator(".task-card .task-prompt").first).to_have_text("取消后重试")
    expect(page.locator("#header-balance")).to_contain_text("68")

    # "Again with these settings" puts the task's settings back in the form.
    _history_item(page, lighthouse_id).locator(".history-again").click()
    expect(page.locator("#prompt")).to_have_value("灯塔与海鸥")


def test_a_shared_image_opens_for_anyone_until_its_owner_stops_sharing(
    app_server, browser_context, browser
):
    email = unique_email("console-share")
    page = browser_context.new_page()
    sign_up(page, app_server, email)
    grant(app_server, email, 100)
    page.goto(app_server.url + "/console")
    page.fill("#prompt", "港口的晨雾 <b>不是粗体</b>")
    page.click("#generate")
    item = page.locator(".history-item").first
    expect(item).to_have_attribute("data-status", "completed", timeout=60_000)
    item.locator(".history-share").click()
    page.locator(".share-on").first.click()
    link = page.locator(".share-link input, input.share-link").first
    expect(link).to_have_value(re.compile(r"/s/[A-Za-z0-9_-]{22,}$"))
    url = link.input_value()
    path = url[url.index("/s/") :]

    stranger = browser.new_context(locale="zh-CN")  # no session: anyone with the link
    try:
        public = stranger.new_page()
        answer = public.goto(app_server.url + path)
        assert answer.status == 200
        expect(public.locator("p")).to_have_text("港口的晨雾 <b>不是粗体</b>")
        expect(public.locator("img")).to_have_js_property("naturalWidth", 1024)
        assert (
            public.locator('meta[property="og:image"]')
            .get_attribute("content")
            .endswith(path + "/image")
        )
        page.locator(".share-off").first.click()
        expect(page.locator(".share-on")).to_have_count(1)
        answer = public.reload()
        assert answer.status == 404
        expect(public.locator("h1")).to_have_text("链接已失效")
    finally:
        stranger.close()
