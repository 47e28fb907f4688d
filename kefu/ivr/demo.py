"""Demo IVR: the telecom hotline's self-service menu (话费查询, 流量, 套餐, 故障报修, 0 人工),
published, plus a week of synthetic sessions so the report page has something to show."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kefu.core.clock import Clock
from kefu.ivr import services
from kefu.ivr.flows import parse_flow
from kefu.ivr.runner import IvrSession
from kefu.tenancy import Principal, Scoped

__all__ = ["HOTLINE", "seed_ivr"]

BYE = "bye"
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOTLINE: dict[str, Any] = {
    "name": "10088 客服热线主菜单",
    "start": "vip",
    "settings": {"human_queue": "Q_BILL", "no_input_retries": 2, "elderly_priority": 5},
    "nodes": {
        "vip": {
            "type": "branch",
            "rules": [{"when": {"attr": "vip_level", "op": "ge", "value": 3}, "goto": "q_vip"}],
            "default": "main",
        },
        "q_vip": {
            "type": "queue",
            "queue": "Q_VIP",
            "priority": 10,
            "prompt": "尊敬的VIP客户，正在为您接通专属客服。",
        },
        "main": {
            "type": "menu",
            "prompt": {
                "audio": "hotline-main",
                "text": "欢迎致电华信通信。话费查询请按1，流量查询请按2，"
                "套餐办理请按3，故障报修请按4，人工服务请按0。",
            },
            "options": {"1": "bill", "2": "data", "3": "plan", "4": "fault"},
        },
        # 1 话费查询
        "bill": {
            "type": "lookup",
            "hook": "balance",
            "params": {"phone": "${caller.phone}"},
            "assign": {"balance": "balance", "due": "month_fee"},
            "prompt": "正在为您查询，请稍候。",
            "next": "bill_say",
            "on_error": "sorry_bill",
        },
        "bill_say": {
            "type": "play",
            "prompt": "您的话费余额为${balance}元，本月已产生费用${due}元。",
            "next": "bill_more",
        },
        "bill_more": {
            "type": "menu",
            "prompt": "重听请按1，短信发送账单请按2，返回上一级请按星号键，人工服务请按0。",
            "options": {"1": "bill_say", "2": "bill_sms"},
        },
        "bill_sms": {
            "type": "sms",
            "template": "bill_detail",
            "params": {"balance": "${balance}", "due": "${due}"},
            "prompt": "账单已通过短信发送。",
            "next": BYE,
        },
        "sorry_bill": {
            "type": "play",
            "prompt": "抱歉，暂时无法查询，正在为您转接人工。",
            "next": "q_bill",
        },
        "q_bill": {"type": "queue", "queue": "Q_BILL"},
        # 2 流量
        "data": {
            "type": "lookup",
            "hook": "data_usage",
            "params": {"phone": "${caller.phone}"},
            "assign": {"left": "remaining_gb"},
            "next": "data_say",
            "on_error": "q_data",
        },
        "data_say": {
            "type": "play",
            "prompt": "您本月剩余通用流量${left}GB。",
            "next": "data_more",
        },
        "data_more": {
            "type": "menu",
            "prompt": "办理流量加油包请按1，返回上一级请按星号键，人工服务请按0。",
            "options": {"1": "data_pack"},
        },
        "data_pack": {
            "type": "sms",
            "template": "data_pack_offer",
            "prompt": "加油包办理链接已短信发送给您。",
            "next": BYE,
        },
        "q_data": {"type": "queue", "queue": "Q_DATA"},
        # 3 套餐
        "plan": {
            "type": "menu",
            "prompt": "查询当前套餐请按1，5G套餐介绍请按2，宽带融合套餐请按3，人工服务请按0。",
            "options": {"1": "plan_now", "2": "plan_5g", "3": "q_data"},
        },
        "plan_now": {
            "type": "lookup",
            "hook": "current_plan",
            "params": {"phone": "${caller.phone}"},
            "assign": {"plan": "plan_name"},
            "next": "plan_say",
            "on_error": "q_data",
        },
        "plan_say": {"type": "play", "prompt": "您当前的套餐是${plan}。", "next": BYE},
        "plan_5g": {
            "type": "sms",
            "template": "plan_5g",
            "prompt": "5G畅享套餐每月129元起，含通用流量30GB、通话500分钟，详情已短信发送。",
            "next": BYE,
        },
        # 4 故障报修
        "fault": {
            "type": "menu",
            "prompt": "手机无信号请按1，宽带故障请按2，固话故障请按3，"
            "报修进度查询请按4，人工服务请按0。",
            "options": {"1": "q_bb", "2": "broadband", "3": "q_bb", "4": "ticket"},
        },
        "broadband": {
            "type": "menu",
            "prompt": "无法上网请按1，网速慢请按2，返回上一级请按星号键，人工服务请按0。",
            "options": {"1": "bb_callback", "2": "bb_tip"},
        },
        "bb_callback": {
            "type": "callback_offer",
            "queue": "Q_BB",
            "prompt": "当前排队较多，如需装维人员稍后回电请按1，继续等待请按其他键。",
        },
        "bb_tip": {
            "type": "play",
            "prompt": "请先将光猫断电一分钟后重启，多数网速问题可以恢复。",
            "next": BYE,
        },
        "ticket": {
            "type": "collect",
            "prompt": "请输入8位报修单号，以井号键结束。",
            "variable": "ticket",
            "min_digits": 8,
            "max_digits": 8,
            "next": "ticket_status",
        },
        "ticket_status": {
            "type": "lookup",
            "hook": "repair_status",
            "params": {"ticket": "${ticket}"},
            "assign": {"status": "status_text"},
            "next": "ticket_say",
            "on_error": "q_bb",
        },
        "ticket_say": {"type": "play", "prompt": "您的报修单当前状态：${status}。", "next": BYE},
        "q_bb": {"type": "queue", "queue": "Q_BB"},
        BYE: {"type": "hangup", "prompt": "感谢您的来电，再见。"},
    },
}

# What callers of the synthetic week do: (probability, keys pressed one after another).
_BEHAVIOUR: list[tuple[float, list[str]]] = [
    (0.30, ["1", "*"]),  # balance, then hang up after hearing it (or back)
    (0.08, ["1", "2"]),  # balance and the bill by SMS
    (0.15, ["2", "1"]),  # data left, buy a pack
    (0.08, ["3", "2"]),  # 5G plan information
    (0.05, ["3", "1"]),
    (0.08, ["4", "2", "2"]),  # broadband slow: restart tip
    (0.05, ["4", "2", "1", "1"]),  # broadband down: callback
    (0.04, ["4", "4", "12345678#"]),  # repair status
    (0.12, ["0"]),  # straight to a human
    (0.05, []),  # no input at all
]


def _synthetic_week(
    session: Session, clock: Clock, tenant_id: int, count: int, rng: random.Random
) -> None:
    flow = services.published_flow(session, tenant_id, "hotline")
    assert flow is not None
    now = clock.now()
    for i in range(count):
        caller: dict[str, Any] = {"phone": f"13{rng.randrange(10**9):09d}"}
        if rng.random() < 0.06:
            caller["age"] = rng.randint(65, 88)
        if rng.random() < 0.03:
            caller["vip_level"] = 3
        local = (now - timedelta(minutes=rng.randrange(7 * 24 * 60))).astimezone(SHANGHAI)
        ivr = IvrSession(flow, caller=caller, local_now=local, is_workday=True, is_holiday=False)
        ivr.start()
        pick, acc = rng.random(), 0.0
        keys: list[str] = []
        for share, seq in _BEHAVIOUR:
            acc += share
            if pick < acc:
                keys = seq
                break
        for key in keys:
            if ivr.finished:
                break
            if rng.random() < 0.04:  # the caller gives up in the menu
                ivr.hangup()
                break
            ivr.digits(key)
            while ivr.waiting_for == "lookup":
                ok = rng.random() < 0.93
                ivr.lookup_result(
                    {
                        "balance": f"{rng.uniform(0, 200):.2f}",
                        "month_fee": f"{rng.uniform(20, 180):.2f}",
                        "remaining_gb": f"{rng.uniform(0, 40):.1f}",
                        "plan_name": "5G畅享129元套餐",
                        "status_text": "装维人员已派单，预计今天18点前上门",
                    }
                    if ok
                    else None
                )
        for _ in range(4):  # whoever is still in a menu times out (and is queued)
            if ivr.finished:
                break
            ivr.timeout()
        if not ivr.finished:
            ivr.hangup()
        at = now - timedelta(seconds=rng.randrange(7 * 24 * 3600))
        services.record_session(session, tenant_id, ivr, "voice", f"demo-ivr-{i}", now=at)


def seed_ivr(
    session: Session, clock: Clock, tenant_id: int, admin_user_id: int = 0, sessions: int = 400
) -> None:
    """Publish the hotline flow (and the same menu for web chat) and a week of sessions."""
    scope = Scoped(session, Principal(admin_user_id, tenant_id, "demo", "demo", frozenset()), clock)
    definition = {k: v for k, v in HOTLINE.items() if k != "name"}
    assert parse_flow(definition)  # the demo flow is valid (and has no errors: see the tests)
    flow, version, _ = services.create_flow(
        scope, code="hotline", name=str(HOTLINE["name"]), definition=definition
    )
    services.publish(scope, flow.id, version.version)
    chat = dict(definition, settings=dict(definition["settings"], human_queue="Q_CHAT"))
    chat_flow, chat_version, _ = services.create_flow(
        scope, code="webchat", name="在线客服自助菜单", definition=chat
    )
    services.publish(scope, chat_flow.id, chat_version.version)
    for code, name, text in (
        ("hotline-main", "主菜单提示音", HOTLINE["nodes"]["main"]["prompt"]["text"]),
        ("thanks", "结束语", "感谢您的来电，再见。"),
    ):
        services.save_prompt(scope, code=code, name=name, text=text)
    _synthetic_week(session, clock, tenant_id, sessions, random.Random(8))
    session.flush()
