"""Demo work orders: telecom templates and 专班, a 95598 and a bank example, orders at every stage.

Called once from ``kefu.demo.seed_demo``. Orders are opened and worked "in the past" with a
clock that is moved along, then the SLA check runs at the real now, so the workbench shows
orders that are fine, due soon (warning), overdue and escalated, paused, resolved and closed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from kefu.core.clock import Clock
from kefu.tenancy import Principal, Scoped
from kefu.tickets import services

__all__ = ["seed_workorders"]

PHONE = {"key": "phone", "label": "联系电话", "type": "phone", "required": True}
GROUPS = (  # code, name, level, escalates to
    ("data", "数据专班", 1, "hard"),
    ("billing", "话费专班", 1, "hard"),
    ("marketing", "营销专班", 1, "hard"),
    ("network", "网络专班", 1, "hard"),
    ("hard", "疑难专班", 2, None),
)
TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "code": "bill_dispute",
        "name": "话费争议",
        "category": "complaint",
        "business_type": "话费",
        "group": "billing",
        "fields": [
            {"key": "month", "label": "争议月份", "type": "date", "required": True},
            {
                "key": "amount",
                "label": "争议金额（元）",
                "type": "amount",
                "required": True,
                "min": 0,
            },
            {
                "key": "item",
                "label": "争议项目",
                "type": "choice",
                "required": True,
                "options": ["月租费", "通话费", "流量费", "增值业务费", "短信费"],
            },
            PHONE,
            {"key": "demand", "label": "客户诉求", "type": "text", "max_length": 500},
        ],
    },
    {
        "code": "data_charge",
        "name": "流量扣费异议",
        "category": "complaint",
        "business_type": "流量",
        "group": "data",
        "fields": [
            {"key": "month", "label": "扣费月份", "type": "date", "required": True},
            {
                "key": "amount",
                "label": "扣费金额（元）",
                "type": "amount",
                "required": True,
                "min": 0,
            },
            {
                "key": "kind",
                "label": "流量类型",
                "type": "choice",
                "options": ["国内通用流量", "定向流量", "国际漫游流量"],
            },
            {
                "key": "alert",
                "label": "是否开通流量提醒",
                "type": "choice",
                "options": ["是", "否"],
            },
            PHONE,
        ],
    },
    {
        "code": "signal",
        "name": "网络信号投诉",
        "category": "complaint",
        "business_type": "网络",
        "group": "network",
        "fields": [
            {
                "key": "address",
                "label": "问题地址",
                "type": "text",
                "required": True,
                "max_length": 200,
            },
            {
                "key": "problem",
                "label": "问题类型",
                "type": "choice",
                "required": True,
                "options": ["无信号", "信号弱", "通话断续", "上网慢"],
            },
            {"key": "network", "label": "网络制式", "type": "choice", "options": ["5G", "4G"]},
            {"key": "when", "label": "发生时段", "type": "text", "max_length": 100},
            PHONE,
            {"key": "photo", "label": "现场截图", "type": "attachment"},
        ],
    },
    {
        "code": "plan_change",
        "name": "套餐变更申请",
        "category": "service_request",
        "business_type": "套餐",
        "group": "billing",
        "followup_required": False,
        "fields": [
            {"key": "current", "label": "当前套餐", "type": "text", "required": True},
            {"key": "target", "label": "目标套餐", "type": "text", "required": True},
            {
                "key": "effective",
                "label": "生效方式",
                "type": "choice",
                "options": ["次月生效", "立即生效"],
            },
            PHONE,
        ],
    },
    {
        "code": "mnp",
        "name": "携号转网",
        "category": "service_request",
        "business_type": "携号转网",
        "group": "data",
        "followup_required": False,
        "fields": [
            {
                "key": "direction",
                "label": "携转方向",
                "type": "choice",
                "required": True,
                "options": ["携出", "携入"],
            },
            {
                "key": "code_state",
                "label": "授权码",
                "type": "choice",
                "options": ["已获取", "未获取"],
            },
            {"key": "months", "label": "在网时长（月）", "type": "number", "min": 0, "max": 600},
            PHONE,
        ],
    },
    {
        "code": "marketing",
        "name": "营销活动投诉",
        "category": "complaint",
        "business_type": "营销",
        "group": "marketing",
        "fields": [
            {"key": "campaign", "label": "活动名称", "type": "text", "required": True},
            {
                "key": "channel",
                "label": "办理渠道",
                "type": "choice",
                "required": True,
                "options": ["营业厅", "电话营销", "线上渠道", "上门推广"],
            },
            {"key": "date", "label": "办理日期", "type": "date"},
            {"key": "amount", "label": "涉及金额（元）", "type": "amount", "min": 0},
            PHONE,
        ],
    },
    {
        "code": "power_95598",
        "name": "95598供电服务投诉（示例）",
        "category": "complaint",
        "business_type": "供电服务",
        "group": "hard",
        "policy": "power",
        "active": False,
        "fields": [
            {
                "key": "class",
                "label": "投诉类别",
                "type": "choice",
                "required": True,
                "options": ["服务投诉", "营业投诉", "停送电投诉", "供电质量投诉", "电网建设投诉"],
            },
            {"key": "account", "label": "户号", "type": "text", "required": True, "max_length": 20},
            {"key": "address", "label": "用电地址", "type": "text", "required": True},
            PHONE,
        ],
    },
)
STORIES = {
    "bill_dispute": [
        ("七月月租多扣 30 元", {"item": "月租费", "amount": "30"}),
        ("未订购的增值业务被扣费", {"item": "增值业务费", "amount": "15.80"}),
    ],
    "data_charge": [
        ("出差期间流量扣费异常", {"kind": "国内通用流量", "amount": "86"}),
        ("定向流量被按通用流量计费", {"kind": "定向流量", "amount": "42.50"}),
    ],
    "signal": [
        ("小区地下车库无信号", {"address": "武汉市洪山区光谷大道 77 号", "problem": "无信号"}),
        ("办公室 5G 上网慢", {"address": "重庆市渝北区金开大道 1 号", "problem": "上网慢"}),
    ],
    "plan_change": [
        ("改办 5G 畅享 129 元套餐", {"current": "4G 58 元", "target": "5G 畅享 129 元"})
    ],
    "mnp": [("携号转网授权码获取失败", {"direction": "携出", "code_state": "未获取"})],
    "marketing": [
        ("存费送机活动未返还话费", {"campaign": "存 300 送 300", "channel": "营业厅"}),
        ("电话营销误导办理宽带", {"campaign": "融合宽带提速", "channel": "电话营销"}),
    ],
}


class _Travel:
    """A clock the demo moves along to open and work orders in the past."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def _principal(user: Any, tenant_id: int) -> Principal:
    return Principal(user.id, tenant_id, user.username, user.display_name, frozenset())


def _setup(
    scope: Scoped, leaders: Mapping[str, int | None], members: Mapping[str, list[int]]
) -> dict[str, int]:
    groups: dict[str, int] = {}
    for code, name, level, _next in reversed(GROUPS):  # the escalation target first
        group = services.create_group(
            scope,
            code=code,
            name=name,
            level=level,
            leader_id=leaders.get(code),
            next_group_id=groups.get(_next) if _next else None,
            description=f"{name}：后台专业处理组",
        )
        services.set_members(scope, group.id, [(uid, 0) for uid in members.get(code, [])])
        groups[code] = group.id
    return groups


def seed_workorders(
    session: Session,
    clock: Clock,
    tenant_id: int,
    people: Mapping[str, Any],
    agents: Sequence[Any],
    bank_tenant_id: int | None = None,
) -> None:
    """Groups, policies, templates and about a hundred orders for the telecom demo tenant."""
    rng = random.Random(5)
    now = clock.now()
    system = Scoped(session, Principal(0, tenant_id, "demo", "demo", frozenset()), clock)
    helpers = list(agents[-8:])  # generated agents who also work in the back office
    for user in helpers:
        user.roles = sorted({*user.roles, "backoffice"})
    members = {
        "billing": [people["backoffice"].id, helpers[0].id],
        # the desk agents get work orders while logged in at their desk; the back-office
        # user (no desk) is routed work orders of every first-level group at any time
        "data": [helpers[1].id, helpers[2].id, people["backoffice"].id],
        "marketing": [helpers[3].id, helpers[4].id, people["backoffice"].id],
        "network": [helpers[5].id, helpers[6].id, people["backoffice"].id],
        "hard": [people["leader"].id, helpers[7].id],
    }
    leaders = {
        "billing": people["leader"].id,
        "data": people["leader"].id,
        "marketing": people["leader"].id,
        "network": people["leader"].id,
        "hard": people["duty"].id,
    }
    groups = _setup(system, leaders, members)
    services.create_policy(
        system,
        code="telecom",
        name="电信投诉（15日答复，内部5个工作日）",
        base="telecom_cn",
        category="complaint",
    )
    services.create_policy(
        system,
        code="service",
        name="业务办理（3个工作日）",
        base="telecom_cn",
        category="service_request",
        definition={
            "resolution": {"amount": 3, "unit": "working_days"},
            "legal": None,
            "escalation": [
                {"clock": "resolution", "at": 0.8, "action": "notify_leader"},
                {"clock": "resolution", "at": 1.0, "action": "next_group"},
            ],
        },
    )
    power = services.create_policy(
        system, code="power", name="95598供电服务投诉", base="power_cn_95598"
    )
    templates: dict[str, int] = {}
    for spec in TEMPLATES:
        template = services.create_template(
            system,
            code=spec["code"],
            name=spec["name"],
            category=spec["category"],
            business_type=spec["business_type"],
            fields=spec["fields"],
            default_group_id=groups[spec["group"]],
            sla_policy_id=power.id if spec.get("policy") == "power" else None,
            followup_required=spec.get("followup_required", True),
            active=spec.get("active", True),
            default_priority="high" if spec["category"] == "complaint" else "normal",
        )
        templates[spec["code"]] = template.id

    openers = [people["agent"], *agents[:20]]
    travel = _Travel(now)
    for age_hours in [*range(1, 60, 3), *range(60, 24 * 30, 17)]:
        code = rng.choice(list(STORIES))
        title, values = rng.choice(STORIES[code])
        opener = rng.choice(openers)
        travel.moment = now - timedelta(hours=age_hours, minutes=rng.randint(0, 59))
        scope = Scoped(session, _principal(opener, tenant_id), travel)
        fields = {**values, "phone": f"13{rng.randint(5, 9)}{rng.randrange(10**8):08d}"}
        spec = next(t for t in TEMPLATES if t["code"] == code)
        for field in spec["fields"]:
            if field.get("required") and field["key"] not in fields:
                month = travel.moment.date().replace(day=1).isoformat()
                fields[field["key"]] = month if field["type"] == "date" else "1"
        created = services.create_order(
            scope,
            template_id=templates[code],
            title=title,
            description=f"客户来电反映：{title}。首问座席已安抚并承诺按时限回复。",
            fields=fields,
            customer_name=f"客户{rng.randint(100, 999)}",
            customer_phone=fields["phone"],
        )
        _work(session, created.order, travel, rng, age_hours, tenant_id, people)
    # The SLA check at the real now: warnings, breaches and escalations of the old open orders.
    session.flush()
    services.check_sla(session, clock, tenant_id=tenant_id, limit=10_000)
    if bank_tenant_id is not None:
        _bank(session, clock, bank_tenant_id)


def _work(
    session: Session,
    order: Any,
    travel: _Travel,
    rng: random.Random,
    age_hours: int,
    tenant_id: int,
    people: Mapping[str, Any],
) -> None:
    """Move an order along as its handler would have."""
    if order.assignee_id is None:
        return
    handler = Principal(order.assignee_id, tenant_id, "h", "h", frozenset())
    scope = Scoped(session, handler, travel)
    roll = rng.random()
    if age_hours < 4 or roll < 0.15:
        return  # still waiting to be started
    travel.moment += timedelta(minutes=rng.randint(10, 90))
    services.add_comment(
        scope, order.id, body="您好，您的问题已受理，我们正在核实。", visibility="customer"
    )
    session.flush()
    services.act(scope, order.id, "start", version=order.version)
    session.flush()
    if age_hours < 48 or roll < 0.35:
        if roll < 0.25:
            travel.moment += timedelta(hours=1)
            services.act(
                scope,
                order.id,
                "wait_customer",
                version=order.version,
                reason="等待客户提供缴费凭证",
            )
        return
    travel.moment += timedelta(hours=rng.randint(2, max(3, min(age_hours - 2, 100))))
    services.act(
        scope,
        order.id,
        "resolve",
        version=order.version,
        reason="经核实已按规定处理，并电话告知客户处理结果。",
    )
    session.flush()
    if order.followup_status == "pending" and roll > 0.5:
        travel.moment += timedelta(hours=6)
        follower = Scoped(session, _principal(people["backoffice"], tenant_id), travel)
        services.follow_up(
            follower,
            order.id,
            version=order.version,
            solved=roll > 0.6,
            channel="sms" if roll > 0.8 else "call",
            satisfaction=5 if roll > 0.6 else 2,
            note="" if roll > 0.6 else "客户表示问题仍未解决",
        )
        session.flush()


def _bank(session: Session, clock: Clock, tenant_id: int) -> None:
    """The bank client's example: an order waiting in its group (the admin assigns members)."""
    scope = Scoped(session, Principal(0, tenant_id, "demo", "demo", frozenset()), clock)
    group = services.create_group(scope, code="card", name="信用卡投诉专班")
    policy = services.create_policy(
        scope, code="bank", name="银行投诉（15日，可延至30日，再延30日）", base="bank_cn"
    )
    template = services.create_template(
        scope,
        code="card_fee",
        name="信用卡年费争议",
        category="complaint",
        business_type="信用卡",
        default_group_id=group.id,
        sla_policy_id=policy.id,
        fields=[
            {
                "key": "card_tail",
                "label": "卡号后四位",
                "type": "text",
                "required": True,
                "max_length": 4,
            },
            {"key": "amount", "label": "争议金额（元）", "type": "amount", "required": True},
            {"key": "month", "label": "账单月份", "type": "date"},
            PHONE,
        ],
    )
    services.create_order(
        scope,
        template_id=template.id,
        title="免年费承诺未兑现",
        description="客户称办卡时承诺刷满 6 次免年费，仍被收取 300 元年费。",
        fields={"card_tail": "6688", "amount": "300", "phone": "13912345678"},
        customer_name="陈女士",
        customer_phone="13912345678",
    )
