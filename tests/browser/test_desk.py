"""A customer, an agent and a supervisor in three browsers: the customer's chat reaches the
agent with the screen-pop filled in, messages flow both ways in order (markup stays text),
the wallboard counts move within a second, a transfer carries its note, the rating is stored.

The demo server runs with KEFU_DEMO_SIMULATION=0: nobody else is on the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
SHOTS = Path("test-results")
WIDGET = "demo-10088-web"
LIVE = 3_000  # ms: the wallboard and the chats move over websockets, well within this


@pytest.fixture
def people(browser: Browser, live_server: str) -> Iterator[dict[str, Page]]:
    contexts: list[BrowserContext] = []

    def open_page() -> Page:
        context = browser.new_context(
            base_url=live_server, viewport={"width": 1366, "height": 768}, locale="zh-CN"
        )
        contexts.append(context)
        return context.new_page()

    pages = {name: open_page() for name in ("customer", "agent", "supervisor", "agent2")}
    yield pages
    for context in contexts:
        context.close()


def _start_chat(customer: Page, name: str, message: str, phone: str = "") -> None:
    customer.goto(f"/chat/{WIDGET}")
    form = customer.locator("#start-form")
    expect(form).to_be_visible()
    form.locator("[name=name]").fill(name)
    if phone:
        form.locator("[name=phone]").fill(phone)
    form.locator("[name=topic]").select_option("bill")
    form.locator("[name=message]").fill(message)
    customer.click("#start-chat")
    expect(customer.locator("#room")).to_be_visible()


def _ready(agent: Page, username: str, password: str) -> None:
    sign_in(agent, username, password)
    agent.goto("/desk")
    agent.click("#btn-ready")
    expect(agent.locator("#desk-state")).to_have_attribute(
        "data-state", re.compile("ready|reserved")
    )


def _queue_cell(supervisor: Page, queue: str, cls: str):  # type: ignore[no-untyped-def]
    return supervisor.locator(f"#queue-table tr[data-queue={queue}] .{cls}")


def _texts(page: Page, selector: str) -> list[str]:
    return page.locator(selector).all_inner_texts()


def test_a_chat_from_customer_to_agent_with_screen_pop_wallboard_and_rating(
    people: dict[str, Page],
) -> None:
    customer, agent, supervisor = people["customer"], people["agent"], people["supervisor"]
    sign_in(supervisor, "duty", "kefu-duty")
    supervisor.goto("/wallboard")
    expect(supervisor.locator("#sl-formula")).to_contain_text("F3")
    expect(_queue_cell(supervisor, "Q_CHAT", "q-waiting")).to_have_text("0")
    answered_before = int(_queue_cell(supervisor, "Q_CHAT", "q-answered").inner_text())

    markup = "<b>你好</b><script>window.__xss = 1</script> 我的话费不对"
    _start_chat(customer, "王先生", markup, phone="13912345678")
    expect(customer.locator("#queue-info")).to_be_visible()
    expect(_queue_cell(supervisor, "Q_CHAT", "q-waiting")).to_have_text("1", timeout=LIVE)

    _ready(agent, "agent", "kefu-agent")
    offer = agent.locator(".offer")
    expect(offer).to_be_visible(timeout=LIVE)
    expect(offer.locator(".offer-customer")).to_have_text("王建国")  # screen-pop before answering
    expect(offer.locator(".count")).to_contain_text(re.compile(r"剩余 \d+ 秒"))
    offer.locator(".btn-accept").click()
    expect(agent.locator("#desk-state")).to_have_attribute("data-state", "busy")
    expect(agent.locator("#pop-name")).to_have_text("王建国")
    expect(agent.locator("#pop-phone")).to_have_text("139****5678")
    expect(agent.locator("#pop-vip")).to_have_text("金卡")
    expect(agent.locator("#pop-visits")).to_contain_text(re.compile(r"今天第\d+次来访"))
    expect(agent.locator("#pop-waited")).to_contain_text("排队等待")
    expect(agent.locator("#pop-timeline li").first).to_be_visible()
    expect(agent.locator("#screen-pop")).to_contain_text("话费查询")  # the self-service choice
    first = agent.locator("#transcript .msg.customer .text").first
    expect(first).to_have_text(markup)  # shown as typed, as text
    assert agent.evaluate("window.__xss") is None

    expect(customer.locator("#agent-banner")).to_contain_text("工号 1001")
    agent.fill("#composer", "您好，我是1001号客服，正在为您查询")
    agent.press("#composer", "Enter")
    expect(customer.locator("li.agent .bubble").last).to_contain_text("1001号客服")
    for line in ("第一条", "第二条", "第三条"):
        customer.fill("#input", line)
        customer.press("#input", "Enter")
    expect(agent.locator("#transcript .msg.customer .text")).to_have_count(4, timeout=LIVE)
    assert _texts(agent, "#transcript .msg.customer .text")[1:] == ["第一条", "第二条", "第三条"]
    agent.fill("#composer", "已为您核实，本月有一笔增值业务费")
    agent.press("#composer", "Enter")
    expect(customer.locator("li.agent .bubble")).to_have_count(2, timeout=LIVE)
    seqs = [
        int(s)
        for s in customer.locator("#messages li[data-seq]").evaluate_all(
            "els => els.map(e => e.dataset.seq)"
        )
    ]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))  # in order, none twice
    assert customer.evaluate("window.__xss") is None

    # The customer reloads: the same conversation comes back, in order, nothing twice.
    customer.reload()
    expect(customer.locator("li.agent .bubble")).to_have_count(2, timeout=LIVE)
    again = customer.locator("#messages li[data-seq]").evaluate_all(
        "els => els.map(e => Number(e.dataset.seq))"
    )
    assert again == seqs

    expect(_queue_cell(supervisor, "Q_CHAT", "q-answered")).to_have_text(
        str(answered_before + 1), timeout=LIVE
    )
    expect(_queue_cell(supervisor, "Q_CHAT", "q-waiting")).to_have_text("0", timeout=LIVE)
    card = supervisor.locator("#agent-grid .agent-card", has_text="1001")
    expect(card).to_have_attribute("data-state", "busy", timeout=LIVE)
    SHOTS.mkdir(exist_ok=True)
    agent.screenshot(path=str(SHOTS / "desk.png"))
    supervisor.screenshot(path=str(SHOTS / "wallboard.png"))

    # Silent view: the supervisor reads the live chat without taking part.
    card.locator(".silent").click()
    expect(supervisor.locator("#silent-view")).to_contain_text("已为您核实")

    agent.click("#btn-end")
    expect(customer.locator("#rating-form")).to_be_visible(timeout=LIVE)
    customer.click("#stars button[data-score='4']")
    customer.fill("#rating-comment", "很耐心")
    customer.click("#rating-submit")
    expect(agent.locator("#chat-rating")).to_contain_text("4", timeout=LIVE)
    stored = supervisor.request.get("/api/v1/webchat/conversations?status=ended").json()
    mine = [c for c in stored["items"] if c["visitor_name"] == "王先生"]
    detail = supervisor.request.get(f"/api/v1/webchat/conversations/{mine[0]['id']}").json()
    assert (detail["conversation"]["rating"], detail["conversation"]["rating_comment"]) == (
        4,
        "很耐心",
    )

    expect(agent.locator("#wrap-panel")).to_be_visible()
    agent.select_option("#wrap-disposition", "BILL_OK")
    agent.fill("#wrap-notes", "已解释增值业务费")
    agent.click("#wrap-submit")
    expect(agent.locator("#desk-state")).to_have_attribute("data-state", "ready", timeout=LIVE)
    agent.click("#btn-logout")
    expect(agent.locator("#desk-state")).to_have_attribute("data-state", "offline")


def test_a_transfer_carries_the_note_to_the_next_agent(people: dict[str, Page]) -> None:
    customer, first, second = people["customer"], people["agent"], people["agent2"]
    _ready(first, "agent", "kefu-agent")
    _start_chat(customer, "李女士", "宽带断网了")
    first.locator(".offer .btn-accept").click()
    expect(first.locator("#btn-transfer")).to_be_visible()
    _ready(second, "a1002", "kefu-agent")
    first.click("#btn-transfer")
    modal = first.locator("#transfer-modal")
    expect(modal).to_be_visible()
    modal.locator("input[value=agent]").check()
    second_option = modal.locator("#tr-agent option", has_text="1002")
    expect(second_option).to_have_count(1)
    modal.locator("#tr-agent").select_option(second_option.get_attribute("value"))
    modal.locator("#tr-note").fill("客户家宽带断网两天，已重启光猫无效，需派修")
    modal.locator("#tr-emotion").select_option("angry")
    modal.locator("#tr-submit").click()
    expect(customer.locator("li.system").last).to_contain_text("转接", timeout=LIVE)
    offer = second.locator(".offer")
    expect(offer).to_be_visible(timeout=LIVE)
    offer.locator(".btn-accept").click()
    handover = second.locator("#screen-pop .handover")
    expect(handover).to_contain_text("已重启光猫无效")
    expect(handover).to_contain_text("生气")
    expect(handover).to_contain_text("1001")
    expect(second.locator("#transcript .msg.customer .text").first).to_have_text("宽带断网了")
    expect(customer.locator("#agent-banner")).to_contain_text("工号 1002", timeout=LIVE)
    assert "光猫" not in customer.locator("#messages").inner_text()  # the note is internal
    # The first agent wraps up its part; the second ends and wraps up; both sign out.
    first.select_option("#wrap-disposition", "BB_REPAIR")
    first.click("#wrap-submit")
    expect(first.locator("#desk-state")).to_have_attribute("data-state", "ready", timeout=LIVE)
    second.click("#btn-end")
    second.select_option("#wrap-disposition", "BB_REPAIR")
    second.click("#wrap-submit")
    expect(second.locator("#desk-state")).to_have_attribute("data-state", "ready", timeout=LIVE)
    for page in (first, second):
        page.click("#btn-logout")
        expect(page.locator("#desk-state")).to_have_attribute("data-state", "offline")


def test_the_widget_embeds_the_chat_from_another_page(browser: Browser, live_server: str) -> None:
    """A shop's page (another origin) with the one script tag gets the chat in an iframe."""
    # The shop is served by the test itself; Chromium asks before a public page may reach a
    # loopback server (Local Network Access), which an intranet deployment does not meet.
    context = browser.new_context(permissions=["local-network-access"], locale="zh-CN")
    page = context.new_page()
    shop = "http://127.0.0.1:9/help"  # another origin (a port nothing listens on)
    tag = f'<script src="{live_server}/webchat/widget.js" data-key="{WIDGET}" async></script>'
    host = f"<!doctype html><html><body><h1>华信通信</h1>{tag}</body></html>"
    page.route(shop, lambda route: route.fulfill(body=host, content_type="text/html"))
    page.goto(shop)
    page.click("#kefu-chat-button")
    frame = page.frame_locator("#kefu-chat-frame")
    expect(frame.locator("#start-form")).to_be_visible()
    expect(frame.locator("#welcome")).to_contain_text("欢迎咨询")
    expect(frame.locator("#chat-name")).to_have_text("华信通信 在线客服")
    context.close()
