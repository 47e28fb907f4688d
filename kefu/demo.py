"""Demo center: a fictional telecom hotline (two sites) and a small bank client, in Chinese."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.clock import Clock
from kefu.customers.tables import Customer, Interaction
from kefu.desk.demo import seed_desk
from kefu.ivr.demo import seed_ivr
from kefu.knowledge.demo import seed_knowledge
from kefu.routing.tables import AgentSkill, QueueConfig, Skill
from kefu.tenancy.security import hash_password
from kefu.tenancy.services import create_tenant
from kefu.tenancy.tables import Site, Team, Tenant, User
from kefu.tickets.demo import seed_workorders
from kefu.wfm.demo import seed_wfm

__all__ = ["DEMO_LOGINS", "DemoLogin", "seed_demo"]

TENANT_CODE = "demo-telecom"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    roles: tuple[str, ...]
    display_name: str


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("admin", "kefu-admin", ("admin",), "系统管理员 王敏"),
    DemoLogin("duty", "kefu-duty", ("duty_manager",), "值班经理 陈刚"),
    DemoLogin("leader", "kefu-leader", ("team_leader",), "班长 李娜"),
    DemoLogin("agent", "kefu-agent", ("agent",), "座席 张伟"),
    DemoLogin("qa", "kefu-qa", ("qa",), "质检员 刘洋"),
    DemoLogin("backoffice", "kefu-backoffice", ("backoffice",), "话费专班 赵磊"),
    DemoLogin("kb", "kefu-kb", ("kb_editor",), "知识库编辑 孙丽"),
    DemoLogin("wfm", "kefu-wfm", ("wfm_planner",), "排班计划 周杰"),
    DemoLogin("viewer", "kefu-viewer", ("client_viewer",), "甲方查看 吴芳"),
    DemoLogin("platform", "kefu-platform", ("admin",), "平台运营 郑浩"),
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = (
    "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂"
    "英华飞玉萍红娥玲芬燕彬鹏辉宇浩凯晨欣怡佳琪梓涵子轩"
)
SKILLS = [
    ("billing", "话费查询"),
    ("data_plan", "流量套餐"),
    ("broadband", "宽带故障"),
    ("complaint", "投诉处理"),
    ("roaming", "国际漫游"),
    ("mnp", "携号转网"),
    ("vip", "VIP服务"),
    ("english", "英语服务"),
    ("chat", "在线文字"),
    ("email", "邮件处理"),
]
QUEUES = [
    ("Q_BILL", "话费业务", "voice", [("billing", 3)], 0),
    ("Q_DATA", "流量套餐", "voice", [("data_plan", 3)], 0),
    ("Q_BB", "宽带报障", "voice", [("broadband", 4)], 0),
    ("Q_CMPL", "投诉专席", "voice", [("complaint", 6)], 5),
    ("Q_VIP", "VIP专席", "voice", [("vip", 5)], 10),
    ("Q_EN", "英语服务", "voice", [("english", 5)], 0),
    ("Q_CHAT", "在线客服", "chat", [("chat", 3)], 0),
    ("Q_MAIL", "邮件客服", "email", [("email", 3)], 0),
]
BUSINESS = [
    "话费查询",
    "套餐变更",
    "流量扣费异议",
    "宽带报修",
    "网络信号",
    "携号转网",
    "国际漫游",
    "积分兑换",
]
CHANNELS = [("voice", 0.7), ("chat", 0.2), ("sms", 0.05), ("email", 0.05)]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    return (
        rng.choice(("138", "139", "135", "136", "150", "151", "187", "188"))
        + f"{rng.randrange(10**8):08d}"
    )


def seed_demo(
    session: Session, clock: Clock, progress: Callable[[str], None] = lambda _m: None
) -> bool:
    """Create the demo tenants once; returns False when they already exist."""
    if session.scalar(select(Tenant).where(Tenant.code == TENANT_CODE)) is not None:
        return False
    rng = random.Random(20261126)
    now = clock.now()
    tenant = create_tenant(session, clock, TENANT_CODE, "华信通信 10088 客服热线")
    tid = tenant.id
    progress("sites and teams")
    sites = [
        Site(tenant_id=tid, code="WH", name="武汉职场", city="武汉"),
        Site(tenant_id=tid, code="CQ", name="重庆职场", city="重庆"),
    ]
    session.add_all(sites)
    session.flush()
    teams = [
        Team(tenant_id=tid, name=f"{s.name[:2]}{n}班", site_id=s.id)
        for s in sites
        for n in ("一", "二")
    ]
    session.add_all(teams)
    session.flush()
    skills = {code: Skill(tenant_id=tid, code=code, name=name) for code, name in SKILLS}
    session.add_all(skills.values())
    session.flush()
    for code, name, media, reqs, prio in QUEUES:
        session.add(
            QueueConfig(
                tenant_id=tid,
                code=code,
                name=name,
                media=media,
                priority=prio,
                skills=[{"skill": s, "min_level": lvl} for s, lvl in reqs],
                sl_target=0.8,
                sl_threshold_s=20 if media == "voice" else 60,
            )
        )

    progress("people")
    named: dict[str, User] = {}
    for login in DEMO_LOGINS:
        user = User(
            tenant_id=tid,
            username=login.username,
            display_name=login.display_name,
            password_hash=hash_password(login.password),
            roles=list(login.roles),
            superadmin=login.username == "platform",
            created_at=now,
            site_id=sites[0].id,
            job_number=f"9{len(named):03d}",
        )
        named[login.username] = user
        session.add(user)
    session.flush()
    named["agent"].team_id = teams[0].id
    named["agent"].job_number = "1001"
    teams[0].leader_id = named["leader"].id
    shared_hash = hash_password("kefu-agent")  # every generated agent signs in with this
    agents: list[User] = [named["agent"]]
    for index, team in enumerate(teams):
        if index > 0:
            leader = User(
                tenant_id=tid,
                username=f"leader{index + 1}",
                display_name=f"班长 {_name(rng)}",
                password_hash=shared_hash,
                roles=["team_leader"],
                created_at=now,
                site_id=team.site_id,
                team_id=team.id,
                job_number=f"8{index:03d}",
            )
            session.add(leader)
            session.flush()
            team.leader_id = leader.id
        for n in range(14 if index == 0 else 15):
            number = 1000 + index * 100 + n + 2
            agent = User(
                tenant_id=tid,
                username=f"a{number}",
                display_name=_name(rng),
                password_hash=shared_hash,
                roles=["agent"],
                created_at=now,
                site_id=team.site_id,
                team_id=team.id,
                job_number=str(number),
            )
            session.add(agent)
            agents.append(agent)
    session.flush()
    for agent in agents:
        for code in rng.sample(list(skills), k=rng.randint(2, 4)):
            session.add(
                AgentSkill(
                    tenant_id=tid,
                    user_id=agent.id,
                    skill_id=skills[code].id,
                    level=rng.randint(3, 9),
                )
            )

    seed_knowledge(session, clock, tid, named["kb"].id)  # kefu/knowledge/demo.py
    progress("customers and their history")
    for _ in range(300):
        customer = Customer(
            tenant_id=tid,
            name=_name(rng),
            phone=_phone(rng),
            vip_level=rng.choices((0, 1, 2, 3), weights=(70, 15, 10, 5))[0],
            tags=rng.sample(
                ["5G套餐", "宽带用户", "老用户4年+", "高流量", "国际漫游", "家庭套餐"],
                k=rng.randint(0, 2),
            ),
            birth_year=rng.randint(1945, 2004),
            city=rng.choice(("武汉", "重庆", "宜昌", "襄阳")),
            created_at=now - timedelta(days=rng.randint(30, 3000)),
        )
        session.add(customer)
        session.flush()
        for _ in range(rng.choice((0, 1, 1, 2, 3, 5, 8))):
            started = now - timedelta(days=rng.uniform(0, 365))
            channel = rng.choices([c for c, _w in CHANNELS], weights=[w for _c, w in CHANNELS])[0]
            business = rng.choice(BUSINESS)
            session.add(
                Interaction(
                    tenant_id=tid,
                    customer_id=customer.id,
                    channel=channel,
                    started_at=started,
                    ended_at=started + timedelta(seconds=rng.randint(60, 900)),
                    queue_code=rng.choice(QUEUES)[0],
                    agent_id=rng.choice(agents).id,
                    business_type=business,
                    disposition=rng.choice(("已解决", "已解决", "已解决", "转工单", "需回访")),
                    is_complaint=business in ("流量扣费异议", "网络信号") and rng.random() < 0.4,
                    summary=f"客户咨询{business}",
                )
            )

    progress("a second tenant (outsourced bank client)")
    bank = create_tenant(session, clock, "demo-bank", "恒信银行信用卡中心（外包）")
    session.add(Site(tenant_id=bank.id, code="SH", name="上海职场", city="上海"))
    session.add(
        User(
            tenant_id=bank.id,
            username="bank-admin",
            display_name="银行项目管理员",
            password_hash=hash_password("kefu-bank"),
            roles=["admin"],
            created_at=now,
        )
    )
    session.flush()
    seed_desk(session, clock, tid, named)  # desk and web chat: widget, dispositions, a VIP
    seed_workorders(session, clock, tid, named, agents, bank.id)  # tickets: 专班, templates, orders
    seed_wfm(session, clock, tid)  # workforce management: six weeks of synthetic history
    seed_ivr(session, clock, tid, named["admin"].id)  # IVR: hotline menu, a week of sessions
    return True
