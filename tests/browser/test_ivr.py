"""An administrator opens the hotline flow, breaks it, sees the findings, cannot publish it,
fixes it and publishes; a team leader reads the per-node report."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_admin_edits_validates_and_publishes_the_hotline(page: Page) -> None:
    sign_in(page, "admin", "kefu-admin")
    page.click("a[data-nav=ivr]")
    expect(page.locator("h1")).to_have_text("自助语音流程（IVR）")
    page.click("#ivr-flows a:text('hotline')")
    expect(page.locator("#ivr-status")).to_have_text("已发布")
    source = page.locator("#ivr-source")
    original = source.input_value()
    assert "话费查询请按1" in original and "type: menu" in original  # YAML by default
    broken = original.replace("'4': fault", "'4': nowhere", 1)
    assert broken != original
    source.fill(broken)
    page.click("#ivr-validate")
    expect(page.locator("#ivr-findings li.error[data-code=unknown_target]")).to_contain_text(
        "nowhere"
    )
    page.click("#ivr-publish")  # saved as a draft, refused for publishing
    expect(page.locator("#ivr-errors")).to_contain_text("流程有错误，不能发布")
    expect(page.locator("#ivr-errors")).to_contain_text("nodes.main")
    source.fill(original.replace("感谢您的来电，再见。", "感谢您的来电，祝您生活愉快。"))
    page.click("#ivr-publish")
    page.wait_for_url(re.compile(r"published=1"))
    expect(page.locator("#ivr-status")).to_have_text("已发布")
    expect(page.locator("#ivr-versions tbody tr")).to_have_count(2)
    expect(page.locator("#ivr-versions tr[data-version='1']")).to_contain_text("已归档")
    page.click("#ivr-versions tr[data-version='1'] .ivr-rollback")
    expect(page.locator("#ivr-versions tr[data-version='1']")).to_contain_text("已发布")


def test_leader_reads_the_node_report(page: Page) -> None:
    sign_in(page, "leader", "kefu-leader")
    page.click("a[data-nav=ivr_reports]")
    page.click("#ivr-report-flows a:text('hotline')")
    expect(page.locator("#ivr-reach-chart[data-rendered=true]")).to_be_visible()
    main = page.locator("#ivr-nodes tr[data-node=main]")
    expect(main).to_be_visible()
    assert int(main.locator("td").nth(1).inner_text()) > 300  # of 400 demo sessions
