"""A planner makes a forecast, a schedule and a roster; a rostered agent sees their week."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
SHOTS = Path("test-results")


def test_planner_forecasts_schedules_and_rosters(page: Page) -> None:
    sign_in(page, "wfm", "kefu-wfm")
    page.click("a[data-nav=wfm_plan]")
    expect(page.locator("h1")).to_have_text("排班计划")
    history = page.locator("#wfm-history tbody")
    for queue in ("Q_BILL", "Q_DATA", "Q_BB"):
        expect(history).to_contain_text(queue)

    page.click("#forecast-form button[type=submit]")
    expect(page.locator("#forecast-chart[data-rendered=true]")).to_be_visible(timeout=30_000)
    expect(page.locator("#forecast-summary")).to_contain_text("预测总量")

    form = page.locator("#schedule-form")
    form.locator("select[name=queue]").select_option("Q_BILL")
    form.locator("button[type=submit]").click()
    expect(page.locator("#schedule-agents")).to_have_text(re.compile(r"^[1-9]\d*$"), timeout=60_000)
    expect(page.locator("#staffing-chart[data-rendered=true]")).to_be_visible()
    expect(page.locator("#intraday-chart[data-rendered=true]")).to_be_visible()
    agents = int(page.locator("#schedule-agents").inner_text())
    page.click("#evaluate-twin")
    expect(page.locator("#twin-chart[data-rendered=true]")).to_be_visible(timeout=60_000)
    expect(page.locator("#twin-summary")).to_contain_text("%")

    page.click("#roster-form button[type=submit]")
    expect(page.locator("#roster-summary")).to_be_visible(timeout=30_000)
    rows = page.locator("#roster-grid tbody tr")
    expect(rows).to_have_count(agents)
    named = page.locator("#roster-grid td.agent[data-job]:not([data-job=''])")
    assert named.count() == agents  # 60 demo agents, fewer lines: every line is filled
    job = named.first.get_attribute("data-job")
    assert job
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "wfm_plan.png"), full_page=True)
    page.click("#logout")

    sign_in(page, "agent" if job == "1001" else f"a{job}", "kefu-agent")
    page.click("a[data-nav=wfm_my]")
    expect(page.locator("h1")).to_have_text("我的排班")
    expect(page.locator("#my-shifts tbody tr[data-shift]")).to_have_count(5)
    prefs = page.locator("#my-preferences form")
    prefs.locator("select[name=avoid_nights]").select_option("true")
    prefs.locator("select[name=preferred_days_off]").select_option(["5", "6"])
    prefs.locator("button[type=submit]").click()
    expect(page.locator("#my-preferences select[name=avoid_nights]")).to_have_value("true")
    selected = page.locator("#my-preferences select[name=preferred_days_off] option:checked")
    expect(selected).to_have_count(2)
