"""Demo data for the desk and web chat: a website widget, a callback queue, disposition codes,
quick replies, chat skills for the demo agents and a returning VIP customer.

Called once from ``kefu.demo.seed_demo``; everything here is fictional.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.channels.webchat.tables import ChatWidget
from kefu.core.clock import Clock
from kefu.customers.tables import Customer, Interaction
from kefu.desk.tables import Disposition, QuickReply
from kefu.routing.tables import AgentSkill, QueueConfig, Skill
from kefu.tenancy.tables import User

__all__ = ["DEMO_CUSTOMER_PHONE", "DEMO_WIDGET_KEY", "seed_desk"]

DEMO_WIDGET_KEY = "demo-10088-web"
DEMO_CUSTOMER_PHONE = "13912345678"
DISPOSITIONS = [
    ("BILL_OK", "话费查询", "已解答"),
    ("BILL_DISPUTE", "话费查询", "扣费异议-已退费"),
    ("PLAN_CHANGE", "套餐变更", "已办理"),
    ("PLAN_INFO", "套餐变更", "仅咨询"),
    ("BB_REPAIR", "宽带报修", "已派修"),
    ("BB_GUIDE", "宽带报修", "远程指导解决"),
    ("SIGNAL", "网络信号", "已记录待核查"),
    ("CMPL_WO", "投诉", "转投诉工单"),
    ("OTHER", "其他", "其他"),
]
QUICK_REPLIES = [
    ("问候", "您好{customer_name}，我是{job_number}号客服，很高兴为您服务。", "开场", "hi"),
    ("核实身份", "为保障您的账户安全，请提供机主姓名和身份证后四位。", "开场", "id"),
    ("稍等", "好的，正在为您查询，请稍等片刻。", "过程", "wait"),
    (
        "账单说明",
        "您本月账单包含套餐月费、超出流量费和增值业务费，明细可在营业厅APP“账单”中查看。",
        "话费",
        "bill",
    ),
    (
        "宽带报修",
        "已为您登记宽带报修，维修人员将在24小时内与您联系，请保持电话畅通。",
        "宽带",
        "bb",
    ),
    (
        "结束语",
        "感谢您的耐心，请问还有其他可以帮您的吗？稍后请为本次服务评价，祝您生活愉快！",
        "结束",
        "bye",
    ),
]


def seed_desk(
    session: Session,
    clock: Clock,
    tenant_id: int,
    named: Mapping[str, Any],
    timezone: str = "Asia/Shanghai",
) -> None:
    now = clock.now()
    session.add(
        QueueConfig(
            tenant_id=tenant_id,
            code="Q_CB",
            name="预约回电",
            media="callback",
            priority=0,
            skills=[{"skill": "billing", "min_level": 1}],
            sl_target=0.8,
            sl_threshold_s=600,
            max_wait_s=0,
        )
    )
    session.add(
        ChatWidget(
            tenant_id=tenant_id,
            key=DEMO_WIDGET_KEY,
            name="华信通信 在线客服",
            queue_code="Q_CHAT",
            callback_queue="Q_CB",
            welcome="您好，欢迎咨询华信通信10088在线客服！请简单描述您的问题，我们马上为您服务。",
            topics=[
                {"code": "bill", "label": "话费查询"},
                {"code": "plan", "label": "套餐变更"},
                {"code": "broadband", "label": "宽带报修"},
                {"code": "other", "label": "其他问题"},
            ],
            active=True,
        )
    )
    for code, business, name in DISPOSITIONS:
        session.add(Disposition(tenant_id=tenant_id, code=code, name=name, business_type=business))
    for title, body, category, shortcut in QUICK_REPLIES:
        session.add(
            QuickReply(
                tenant_id=tenant_id, title=title, body=body, category=category, shortcut=shortcut
            )
        )
    chat = session.scalar(select(Skill).where(Skill.tenant_id == tenant_id, Skill.code == "chat"))
    if chat is not None:
        for username in ("agent", "a1002"):
            user = named.get(username) or session.scalar(
                select(User).where(User.tenant_id == tenant_id, User.username == username)
            )
            if user is None:
                continue
            row = session.scalar(
                select(AgentSkill).where(
                    AgentSkill.user_id == user.id, AgentSkill.skill_id == chat.id
                )
            )
            if row is None:
                session.add(
                    AgentSkill(tenant_id=tenant_id, user_id=user.id, skill_id=chat.id, level=6)
                )
            else:
                row.level = max(row.level, 6)
    person = Customer(
        tenant_id=tenant_id,
        name="王建国",
        phone=DEMO_CUSTOMER_PHONE,
        vip_level=2,
        tags=["宽带用户", "老用户4年+"],
        birth_year=1978,
        city="武汉",
        created_at=now - timedelta(days=1600),
    )
    session.add(person)
    session.flush()
    local = now.astimezone(ZoneInfo(timezone))
    morning = local.replace(hour=10, minute=32, second=0, microsecond=0)
    if morning > local:
        morning = local - timedelta(minutes=50)
    history = [
        (morning - timedelta(minutes=65), "voice", "话费查询", "已解答", False, "询问本月话费"),
        (morning, "voice", "网络信号", "已记录待核查", True, "家中信号差，要求尽快处理"),
        (local - timedelta(days=20), "chat", "套餐变更", "仅咨询", False, "咨询5G套餐"),
        (local - timedelta(days=90), "voice", "宽带报修", "已派修", False, "宽带断网"),
    ]
    agent = named.get("agent")
    for at, channel, business, disposition, complaint, summary in history:
        session.add(
            Interaction(
                tenant_id=tenant_id,
                customer_id=person.id,
                channel=channel,
                started_at=at,
                ended_at=at + timedelta(minutes=6),
                queue_code="Q_BILL" if channel == "voice" else "Q_CHAT",
                agent_id=agent.id if agent is not None else None,
                business_type=business,
                disposition=disposition,
                is_complaint=complaint,
                summary=summary,
            )
        )
    session.flush()
