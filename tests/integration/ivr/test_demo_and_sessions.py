"""The demo hotline flow is valid and published; sessions on it are recorded as events whose
metrics look like a hotline's; a session's business-time conditions come from the calendar."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kefu.ivr import services
from kefu.ivr.demo import HOTLINE, seed_ivr
from kefu.ivr.flows import check
from kefu.ivr.runner import Collect, ToQueue, Voicemail
from kefu.tenancy import Principal, Scoped
from tests.factories import make_world

pytestmark = pytest.mark.integration


def test_the_demo_hotline_has_no_design_errors() -> None:
    flow, findings = check({k: v for k, v in HOTLINE.items() if k != "name"})
    assert flow is not None
    assert [f for f in findings if f.level == "error"] == []
    menus = [n for n in flow.nodes.values() if n.type == "menu"]
    assert len(menus) >= 5


def test_seeded_hotline_sessions_and_metrics(container, clock) -> None:
    world = make_world(container, "ivr")
    with container.db.session(clock=clock) as session:
        seed_ivr(session, clock, world.tenant_id, sessions=120)
    with container.db.session(clock=clock) as session:
        hotline = services.published_flow(session, world.tenant_id, "hotline")
        chat = services.published_flow(session, world.tenant_id, "webchat")
        assert hotline is not None and hotline.version == 1
        assert chat is not None and chat.settings.human_queue == "Q_CHAT"
        scope = Scoped(session, Principal(0, world.tenant_id, "t", "t", frozenset()), clock)
        flow_row = services.flow_by_code(scope, "hotline")
        m = services.metrics(
            scope, flow_row.id, datetime(2000, 1, 1, tzinfo=UTC), clock.now().replace(year=2100)
        )
    assert m.sessions == 120
    assert 0.3 < m.self_service_rate < 0.8
    assert 0.05 < m.zero_out_rate < 0.3
    nodes = {n.node: n for n in m.nodes}
    assert nodes["main"].reach_rate > 0.85  # all but the elderly and VIP callers
    assert nodes["bill"].avg_hops == 3  # vip branch, main menu, bill


def test_new_session_takes_holidays_from_the_tenant_calendar(container, clock) -> None:
    world = make_world(container, "ivrcal")
    flow = {
        "start": "open",
        "settings": {"human_queue": "Q"},
        "nodes": {
            "open": {
                "type": "branch",
                "rules": [
                    {"when": {"holiday": True}, "goto": "closed"},
                    {"when": {"workday": False}, "goto": "closed"},
                ],
                "default": "main",
            },
            "closed": {"type": "voicemail", "box": "holiday"},
            "main": {"type": "menu", "prompt": "请按1", "options": {"1": "q"}},
            "q": {"type": "queue"},
        },
    }
    with container.db.session(clock=clock) as session:
        scope = Scoped(session, Principal(0, world.tenant_id, "t", "t", frozenset()), clock)
        row, version, _ = services.create_flow(scope, code="cal", name="cal", definition=flow)
        services.publish(scope, row.id, version.version)
    with container.db.session(clock=clock) as session:
        national_day = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # 国庆节, 10:00 in Shanghai
        ivr = services.new_session(session, world.tenant_id, "cal", caller={}, now=national_day)
        assert ivr is not None and ivr.is_holiday and not ivr.is_workday
        assert ivr.start() == [Voicemail("holiday")]
        tuesday = datetime(2026, 10, 13, 2, 0, tzinfo=UTC)
        ivr = services.new_session(session, world.tenant_id, "cal", caller={}, now=tuesday)
        assert ivr is not None and ivr.is_workday and ivr.local_now.hour == 10
        assert isinstance(ivr.start()[-1], Collect)
        assert ivr.digits("0") == [ToQueue("Q", 0, "zero_out")]
        assert (
            services.new_session(session, world.tenant_id, "nope", caller={}, now=tuesday) is None
        )
