"""Knowledge in the browser: an agent finds and uses an answer, an important announcement pops
up until acknowledged, and a front-line question is answered into the base."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
SHOTS = Path("test-results")
SLOW = 30_000  # ms: the first search loads the embedding model


def _ack_all(page: Page) -> None:
    popup = page.locator("#ack-popup")
    for _ in range(10):
        page.wait_for_timeout(300)
        if not popup.is_visible():
            return
        page.click("#ack-button")


def test_agent_finds_and_uses_an_answer(page: Page) -> None:
    sign_in(page, "agent", "kefu-agent")
    page.click("a[data-nav=knowledge]")
    page.fill("#kb-q", "流量不够用了怎么办")
    page.click("#kb-search")
    first = page.locator("#kb-results .kb-hit").first
    expect(first.locator(".kb-title")).to_have_text("如何办理流量包？", timeout=SLOW)
    expect(first.locator(".kb-snippet mark").first).to_be_visible()
    expect(first.locator(".kb-answer")).to_contain_text("LLB")
    first.locator(".kb-copy").click()
    expect(first.locator(".kb-copy")).to_have_text("已复制")
    first.locator(".kb-up").click()
    expect(first.locator(".kb-status")).to_have_text("感谢反馈")
    # the desktop's knowledge box pastes the answer into the reply
    page.click("a[data-nav=workspace]")
    _ack_all(page)
    page.fill("#kb-q", "家里网断了")
    page.click("#kb-search")
    hit = page.locator("#kb-results .kb-hit").first
    expect(hit.locator(".kb-title")).to_have_text("宽带上不了网怎么办？", timeout=SLOW)
    hit.locator(".kb-copy").click()
    expect(page.locator("#reply")).to_have_value(re.compile("光猫"))
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "knowledge-desktop-box.png"), full_page=True)


def test_important_announcement_must_be_acknowledged(page: Page) -> None:
    sign_in(page, "leader", "kefu-leader")
    page.goto("/knowledge/announcements")
    page.click("#new-announcement summary")
    form = page.locator("#new-announcement form")
    form.locator("[name=title]").fill("【紧急】今晚22点起计费系统割接")
    form.locator("[name=body]").fill("割接期间无法查询实时话费，请告知客户次日查询。")
    form.locator("[name=importance]").select_option("urgent")
    form.locator("[name=audience_roles]").select_option(["agent"])
    form.locator("button[type=submit]").click()
    expect(page.locator("#announcements")).to_contain_text("计费系统割接")
    page.click("#logout")

    sign_in(page, "a1003", "kefu-agent")
    page.goto("/workspace")
    popup = page.locator("#ack-popup")
    expect(popup).to_be_visible()
    expect(popup.locator(".ack-title")).to_have_text("【紧急】今晚22点起计费系统割接")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "knowledge-ack-popup.png"))
    page.reload()  # not acknowledged: it comes back
    expect(popup.locator(".ack-title")).to_have_text("【紧急】今晚22点起计费系统割接")
    page.click("#ack-button")
    expect(popup.locator(".ack-title")).not_to_have_text("【紧急】今晚22点起计费系统割接")
    _ack_all(page)
    page.reload()
    page.wait_for_timeout(800)
    expect(popup).to_be_hidden()
    page.click("#logout")

    sign_in(page, "leader", "kefu-leader")
    page.goto("/knowledge/announcements")
    page.locator(".announcement", has_text="计费系统割接").locator("a").click()
    row = page.locator("#ack-report tbody tr", has_text="1003")
    expect(row.locator("td.acked")).to_be_visible()
    expect(page.locator("#ack-report td.pending").first).to_be_visible()  # others have not


def test_question_goes_to_the_department_and_the_answer_joins_the_base(page: Page) -> None:
    question = "外籍客户用护照怎么办理实名登记？"
    sign_in(page, "a1004", "kefu-agent")
    page.goto("/knowledge/questions")
    page.fill("#ask-form [name=text]", question)
    page.fill("#ask-form [name=context]", "客户是韩国籍，在武汉工作")
    page.click("#ask-submit")
    row = page.locator("#my-questions tbody tr", has_text=question)
    expect(row.locator(".q-status")).to_have_text(re.compile("待答复"))
    page.click("#logout")

    sign_in(page, "backoffice", "kefu-backoffice")
    page.goto("/knowledge/questions")
    item = page.locator("#inbox .question", has_text=question)
    expect(item).to_contain_text("韩国籍")
    item.locator("[name=title]").fill("外籍客户怎么办理实名登记？")
    item.locator("[name=module_id]").select_option(label="号码业务 > 实名与过户")
    item.locator("[name=answer]").fill("外籍客户凭有效护照原件到营业厅办理实名登记，需本人到场。")
    item.locator(".answer-submit").click()
    expect(page.locator("#inbox")).not_to_contain_text(question)
    page.click("#logout")

    sign_in(page, "a1004", "kefu-agent")
    page.goto("/knowledge/questions")
    row = page.locator("#my-questions tbody tr", has_text=question)
    expect(row.locator(".q-status")).to_have_text("已答复")
    row.locator("a").click()
    expect(page.locator("#article-title")).to_have_text("外籍客户怎么办理实名登记？")
    page.goto("/knowledge")
    page.fill("#kb-q", "护照办实名")
    page.click("#kb-search")
    expect(page.locator("#kb-results .kb-title").first).to_have_text(
        "外籍客户怎么办理实名登记？", timeout=SLOW
    )


def test_important_announcements_pop_up_on_every_desktop_page_until_acknowledged(
    page: Page,
) -> None:
    sign_in(page, "a1012", "kefu-agent")  # the demo's urgent and important notices are pending
    pages = sorted(
        {
            href
            for href in page.locator("nav.mainnav a[data-nav]").evaluate_all(
                "links => links.map(a => a.getAttribute('href'))"
            )
            if href != "/"
        }
    )
    assert {"/desk", "/workspace", "/knowledge"} <= set(pages)
    popup = page.locator("#ack-popup")
    for path in pages:
        page.goto(path)
        expect(popup).to_be_visible()
        expect(popup.locator(".ack-title")).to_have_text(re.compile("【(紧急|重要)】"))
    # it does not cover the page: the agent can keep working (here: follow a menu link)
    page.click("a[data-nav=knowledge]")
    page.wait_for_url("**/knowledge")
    expect(popup).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "knowledge-ack-every-page.png"))
    _ack_all(page)
    for path in pages:
        page.goto(path)
        expect(popup).to_have_attribute("data-loaded", "1")
        expect(popup).to_be_hidden()
    page.click("#logout")
    # back-office staff do not work at the desktop: no popup on their pages
    sign_in(page, "backoffice", "kefu-backoffice")
    page.goto("/knowledge")
    expect(page.locator("#ack-popup")).to_have_count(0)
