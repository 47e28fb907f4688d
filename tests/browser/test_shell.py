"""A person signs in, sees the navigation of their role, switches language, and signs out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
SHOTS = Path("test-results")


def _nav(page: Page) -> list[str]:
    return page.locator("nav.mainnav a").evaluate_all("els => els.map(e => e.dataset.nav)")


def test_admin_sees_admin_navigation_and_real_data(page: Page) -> None:
    sign_in(page, "admin", "kefu-admin")
    expect(page.locator("#welcome")).to_contain_text("系统管理员 王敏")
    expect(page.locator("#tenant-name")).to_have_text("华信通信 10088 客服热线")
    assert _nav(page) == [
        "home",
        "team",
        "wallboard",
        "customers",
        "knowledge",
        "knowledge_edit",
        "workorders",
        "workorder_reports",
        "wfm_plan",
        "wfm_my",
        "wfm_staffing",
        "simulation",
        "ivr",
        "ivr_reports",
        "users",
        "org",
        "audit",
    ]
    expect(page.locator("#team-chart[data-rendered=true]")).to_be_visible()
    page.click("a[data-nav=users]")
    expect(page.locator("h1")).to_have_text("用户")
    expect(page.locator("#users tbody tr")).to_have_count(72)
    page.click("a[data-nav=customers]")
    first_phone = page.locator("#customers tbody tr td.mono").first.inner_text()
    assert re.fullmatch(r"1\d\d\*{4}\d{4}", first_phone), first_phone  # masked 138****1234
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "customers.png"))


def test_agent_sees_only_agent_navigation(page: Page) -> None:
    sign_in(page, "agent", "kefu-agent")
    assert _nav(page) == [
        "home",
        "workspace",
        "desk",
        "customers",
        "knowledge",
        "workorders",
        "wfm_my",
    ]
    page.click("a[data-nav=workspace]")
    expect(page.locator("#job-number")).to_have_text("1001")
    expect(page.locator("#my-team")).to_have_text("武汉一班")
    response = page.goto("/admin/users")
    assert response is not None and response.status == 403


def test_each_role_gets_its_own_navigation(page: Page) -> None:
    expected = {
        "leader": [
            "home",
            "team",
            "wallboard",
            "customers",
            "knowledge",
            "workorders",
            "workorder_reports",
            "wfm_plan",
            "wfm_my",
            "ivr_reports",
            "users",
        ],
        "qa": ["home", "knowledge", "workorders", "users"],
        "viewer": ["home", "workorder_reports", "ivr_reports"],
        "platform": [
            "home",
            "team",
            "wallboard",
            "customers",
            "knowledge",
            "knowledge_edit",
            "workorders",
            "workorder_reports",
            "wfm_plan",
            "wfm_my",
            "wfm_staffing",
            "simulation",
            "ivr",
            "ivr_reports",
            "users",
            "org",
            "audit",
            "tenants",
        ],
    }
    for username, nav in expected.items():
        sign_in(page, username, f"kefu-{username}")
        assert _nav(page) == nav, username
        page.click("#logout")
        page.wait_for_url(re.compile(r"/login"))


def test_language_switch_and_wrong_password(page: Page) -> None:
    page.goto("/login")
    page.fill("#username", "admin")
    page.fill("#password", "wrong-password")
    page.click("#login-submit")
    expect(page.locator(".alert")).to_have_text("用户名或密码错误")
    page.click("#lang-switch")
    expect(page.locator("#login-submit")).to_have_text("Sign in")
    sign_in(page, "duty", "kefu-duty")
    expect(page.locator("a[data-nav=audit]")).to_have_text("Audit log")
    page.click("#lang-switch")
    expect(page.locator("a[data-nav=audit]")).to_have_text("审计日志")


def test_admin_creates_a_user_and_errors_are_shown(page: Page) -> None:
    sign_in(page, "admin", "kefu-admin")
    page.goto("/admin/users")
    page.click("#new-user summary")
    form = page.locator("#new-user form")
    form.locator("[name=username]").fill("browser.new")
    form.locator("[name=display_name]").fill("新来的座席")
    form.locator("[name=password]").fill("short")
    form.locator("button[type=submit]").click()
    expect(form.locator(".form-errors")).to_contain_text("password")
    form.locator("[name=password]").fill("long-enough-pw")
    form.locator("button[type=submit]").click()
    expect(page.locator("#users")).to_contain_text("新来的座席")
    page.goto("/admin/audit")
    # Background jobs (the SLA loop) also write audit rows: look for ours among the newest.
    expect(page.locator("#audit tbody")).to_contain_text("username=browser.new")


def test_signed_out_pages_redirect_to_login(page: Page) -> None:
    page.goto("/admin/users")
    assert "/login?next=/admin/users" in page.url
    expect(page.locator("#login-submit")).to_be_visible()
