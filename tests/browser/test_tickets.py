"""A complaint from the agent's new-order page to a back-office group, through warning,
escalation, resolution and a "not solved" follow-up that reopens it (real server, real clock).

The SLA is driven by an explicit promised time (``due``) a few seconds ahead, and the duty
manager's "run SLA check now" button, instead of moving the server's clock.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
DUE_IN_S = 10
LOCAL_IN = """(s) => {
  const d = new Date(Date.now() + s * 1000);
  const p = (n) => String(n).padStart(2, "0");
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${day}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}"""


def _switch(page: Page, username: str) -> None:
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login"))
    sign_in(page, username, f"kefu-{username}")


def _check_sla(page: Page) -> None:
    page.goto("/workorders?view=all")
    page.click("#sla-check")
    expect(page.locator("#wo-errors[data-done=true]")).to_contain_text("checked")


def test_complaint_closed_loop_in_the_browser(page: Page) -> None:
    sign_in(page, "agent", "kefu-agent")
    page.goto("/workorders/new?customer_id=1")
    page.select_option("#template-select", label="投诉 · 营销活动投诉")
    page.wait_for_url(re.compile(r"template_id="))
    form = page.locator("#order-form")
    assert form.locator("[name='customer_phone']").input_value()  # prefilled from the customer
    form.locator("[name='fields.campaign']").fill("存 300 送 300")
    form.locator("[name='fields.channel']").select_option("电话营销")
    form.locator("[name='title']").fill("浏览器：存费送费活动未返还")
    started = time.monotonic()
    page.fill("#due", page.evaluate(LOCAL_IN, DUE_IN_S))
    page.click("#submit-order")
    page.wait_for_url(re.compile(r"/workorders/\d+$"))
    order_url = page.url
    expect(page.locator("#order-group")).to_have_text("营销专班")
    expect(page.locator("#order-status")).to_have_attribute("data-status", "assigned")
    number = page.locator("#order-number").inner_text()

    _switch(page, "duty")
    time.sleep(max(0.0, started + DUE_IN_S * 0.85 - time.monotonic()))
    _check_sla(page)
    page.goto(order_url)
    expect(page.locator("#order-phase")).to_have_text("即将超时")
    expect(page.locator("#order-escalation")).to_contain_text("1")
    expect(page.locator("#timeline li[data-type='workorder.sla_warning']")).to_have_count(1)

    time.sleep(max(0.0, started + DUE_IN_S + 1 - time.monotonic()))
    _check_sla(page)
    page.goto(order_url)
    expect(page.locator("#order-group")).to_have_text("疑难专班")  # escalated to the next level
    expect(page.locator("#order-phase")).to_have_text("已超时")
    page.goto("/workorders?view=all&phase=breached")
    expect(page.locator("#queue")).to_contain_text(number)

    _switch(page, "leader")  # member of 疑难专班
    page.goto(order_url)
    page.click("#action-start button")
    expect(page.locator("#order-status")).to_have_attribute("data-status", "in_progress")
    page.fill("#action-resolve [name='reason']", "已补返话费 300 元并致歉")
    page.click("#action-resolve button")
    expect(page.locator("#order-status")).to_have_attribute("data-status", "resolved")

    page.fill("#followup [name='note']", "客户称仍未到账")
    page.fill("#followup [name='satisfaction']", "2")
    page.click("#followup-submit")
    expect(page.locator("#order-status")).to_have_attribute(
        "data-status", re.compile("assigned|reopened")
    )
    expect(page.locator("#order-group")).to_have_text("疑难专班")  # back to the last group
    expect(page.locator("#order-repeats")).to_have_text("1")
    expect(page.locator("#timeline li[data-type='workorder.reopen']")).to_have_count(1)

    _switch(page, "agent")  # 首问负责: the opener was told of the resolution
    page.goto("/workorders?view=created")
    expect(page.locator("#queue")).to_contain_text(number)
    expect(page.locator("#notifications li[data-kind='resolved']").first).to_be_visible()


def test_workbench_filters_saved_views_and_reports(page: Page) -> None:
    sign_in(page, "backoffice", "kefu-backoffice")
    page.goto("/workorders?view=groups")
    rows = page.locator("#queue tbody tr[data-id]")
    expect(rows.first).to_be_visible()
    countdown = page.locator("#queue td.countdown[data-due]").first
    first = countdown.inner_text()
    page.wait_for_timeout(1500)
    assert countdown.inner_text() != first  # a live countdown
    page.select_option("#filters [name='priority']", "high")
    page.click("#filters button[type=submit]")
    page.fill("#save-view [name='name']", "高优先")
    page.click("#save-view-button")
    saved = page.locator("nav.tabs a[data-saved='高优先']")
    expect(saved).to_be_visible()  # the page reloads with the new view
    page.goto("/workorders")
    page.click("nav.tabs a[data-saved='高优先']")
    expect(page.locator("nav.tabs a.saved.active")).to_have_text("★ 高优先")
    for text in page.locator("#queue tbody tr[data-id] td:nth-child(5)").all_inner_texts():
        assert text == "高"
    _switch(page, "viewer")
    page.goto("/workorders/reports")
    expect(page.locator("#on-time-rate")).to_have_text(re.compile(r"\d+\.\d\d%|—"))
    expect(page.locator("#weekly-chart[data-rendered=true]")).to_be_visible()
    with page.expect_download() as download:
        page.click("#export-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")
