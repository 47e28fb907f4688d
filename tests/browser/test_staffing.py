"""A planner enters calls per interval and sees the required agents (chart and table)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_planner_enters_intervals_and_sees_required_agents(page: Page) -> None:
    sign_in(page, "wfm", "kefu-wfm")
    page.click("a[data-nav=wfm_staffing]")
    expect(page.locator("h1")).to_have_text("人力测算（Erlang）")
    form = page.locator("#staffing-form")
    form.locator("[name=calls]").fill("100 250 400 0")
    form.locator("[name=aht_s]").fill("240")
    form.locator("[name=shrinkage]").fill("0.3")
    form.locator("#staffing-compute").click()
    expect(page.locator("#staffing-calc-chart[data-rendered=true]")).to_be_visible()
    rows = page.locator("#staffing-table tbody tr")
    expect(rows).to_have_count(4)
    agents = [int(t) for t in page.locator("#staffing-table td.agents").all_inner_texts()]
    assert agents == [17, 39, 60, 0]  # Erlang C, 80/20, AHT 240 s, 30-minute intervals
    expect(rows.first).to_contain_text("08:00")

    form.locator("[name=target]").fill("1.5")
    form.locator("#staffing-compute").click()
    expect(page.locator("#staffing-errors")).to_contain_text("target")
