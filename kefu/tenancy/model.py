"""Roles, permissions and the authenticated principal (pure: no web, no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["NAV_ITEMS", "ROLE_PERMISSIONS", "NavItem", "Principal", "Role", "permissions_for"]


class Role(StrEnum):
    AGENT = "agent"  # 座席
    TEAM_LEADER = "team_leader"  # 班长
    DUTY_MANAGER = "duty_manager"  # 值班经理
    QA = "qa"  # 质检员
    BACKOFFICE = "backoffice"  # 专班处理人
    KB_EDITOR = "kb_editor"  # 知识库编辑
    WFM_PLANNER = "wfm_planner"  # 排班计划员
    ADMIN = "admin"  # 管理员
    CLIENT_VIEWER = "client_viewer"  # 客户方只读报表


# Declarative: what each role may do inside its own tenant. A permission is "area.verb".
ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.AGENT: frozenset({"org.read", "customers.read", "desktop.use"}),
    Role.TEAM_LEADER: frozenset(
        {"org.read", "users.read", "customers.read", "agents.supervise", "reports.read"}
    ),
    Role.DUTY_MANAGER: frozenset(
        {
            "org.read",
            "users.read",
            "customers.read",
            "agents.supervise",
            "reports.read",
            "audit.read",
            "routing.contacts",
        }
    ),
    Role.QA: frozenset({"org.read", "users.read", "quality.evaluate", "reports.read"}),
    Role.BACKOFFICE: frozenset({"org.read", "customers.read", "workorders.handle"}),
    Role.KB_EDITOR: frozenset({"org.read", "knowledge.edit"}),
    Role.WFM_PLANNER: frozenset({"org.read", "users.read", "wfm.plan", "reports.read"}),
    Role.ADMIN: frozenset(
        {
            "org.read",
            "org.manage",
            "users.read",
            "users.manage",
            "customers.read",
            "customers.manage",
            "routing.manage",
            "routing.contacts",
            "audit.read",
            "reports.read",
            "agents.supervise",
            "calendar.manage",
            "tokens.manage",
        }
    ),
    Role.CLIENT_VIEWER: frozenset({"reports.read"}),
}


# Work orders (issue 5): open, read, handle (专班), approve (extensions, SLA run),
# configure, report.
_WORKORDER_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.AGENT: frozenset({"workorders.create", "workorders.read"}),
    Role.TEAM_LEADER: frozenset(
        {"workorders.create", "workorders.read", "workorders.handle", "workorders.report"}
    ),
    Role.DUTY_MANAGER: frozenset(
        {
            "workorders.create",
            "workorders.read",
            "workorders.handle",
            "workorders.approve",
            "workorders.report",
        }
    ),
    Role.QA: frozenset({"workorders.read"}),
    Role.BACKOFFICE: frozenset({"workorders.read", "workorders.handle"}),
    Role.ADMIN: frozenset(
        {
            "workorders.create",
            "workorders.read",
            "workorders.handle",
            "workorders.approve",
            "workorders.manage",
            "workorders.report",
        }
    ),
    Role.CLIENT_VIEWER: frozenset({"workorders.report"}),
}
ROLE_PERMISSIONS = {
    role: granted | _WORKORDER_PERMISSIONS.get(role, frozenset())
    for role, granted in ROLE_PERMISSIONS.items()
}


# Workforce management (issue 7): plan (forecast, schedule, roster), read plans and adherence,
# approve swap/leave requests, see one's own schedule and request changes.
_WFM_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.AGENT: frozenset({"wfm.own"}),
    Role.TEAM_LEADER: frozenset({"wfm.read", "wfm.approve", "wfm.own"}),
    Role.DUTY_MANAGER: frozenset({"wfm.read", "wfm.approve", "wfm.own"}),
    Role.WFM_PLANNER: frozenset({"wfm.plan", "wfm.read", "wfm.approve", "wfm.own"}),
    Role.ADMIN: frozenset({"wfm.plan", "wfm.read", "wfm.approve", "wfm.own"}),
}
ROLE_PERMISSIONS = {
    role: granted | _WFM_PERMISSIONS.get(role, frozenset())
    for role, granted in ROLE_PERMISSIONS.items()
}


# Knowledge base (issue 9): who reads, asks, answers, edits, reviews, announces and reports.
_KNOWLEDGE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.AGENT: frozenset({"knowledge.read", "knowledge.question"}),
    Role.TEAM_LEADER: frozenset(
        {"knowledge.read", "knowledge.question", "knowledge.announce", "knowledge.report"}
    ),
    Role.DUTY_MANAGER: frozenset(
        {"knowledge.read", "knowledge.answer", "knowledge.announce", "knowledge.report"}
    ),
    Role.QA: frozenset({"knowledge.read"}),
    Role.BACKOFFICE: frozenset({"knowledge.read", "knowledge.answer"}),
    Role.KB_EDITOR: frozenset(
        {
            "knowledge.read",
            "knowledge.review",
            "knowledge.answer",
            "knowledge.announce",
            "knowledge.report",
        }
    ),
    Role.ADMIN: frozenset(
        {
            "knowledge.read",
            "knowledge.question",
            "knowledge.edit",
            "knowledge.review",
            "knowledge.answer",
            "knowledge.announce",
            "knowledge.report",
        }
    ),
}
ROLE_PERMISSIONS = {
    role: granted | _KNOWLEDGE_PERMISSIONS.get(role, frozenset())
    for role, granted in ROLE_PERMISSIONS.items()
}

# Self-service IVR (issue 8): admins design and publish flows; managers and clients see metrics.
_IVR_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({"ivr.read", "ivr.manage", "ivr.report"}),
    Role.DUTY_MANAGER: frozenset({"ivr.report"}),
    Role.TEAM_LEADER: frozenset({"ivr.report"}),
    Role.CLIENT_VIEWER: frozenset({"ivr.report"}),
}
ROLE_PERMISSIONS = {
    role: granted | _IVR_PERMISSIONS.get(role, frozenset())
    for role, granted in ROLE_PERMISSIONS.items()
}


# Voice (issue 8): call recordings — list, play (every playback logged), retention.
_VOICE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({"recordings.read", "recordings.listen", "recordings.manage"}),
    Role.DUTY_MANAGER: frozenset({"recordings.read", "recordings.listen"}),
    Role.TEAM_LEADER: frozenset({"recordings.read", "recordings.listen"}),
    Role.QA: frozenset({"recordings.read", "recordings.listen"}),
}
ROLE_PERMISSIONS = {
    role: granted | _VOICE_PERMISSIONS.get(role, frozenset())
    for role, granted in ROLE_PERMISSIONS.items()
}


def permissions_for(
    roles: frozenset[Role] | set[Role], *, superadmin: bool = False
) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    if superadmin:
        granted.add("tenants.manage")
    return frozenset(granted)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: every query is scoped by ``tenant_id`` taken from here, never from input."""

    user_id: int
    tenant_id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    superadmin: bool = False
    locale: str = "zh-CN"
    via: str = "session"  # "session" (browser cookie) or "token" (bearer API token)
    team_id: int | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str  # i18n key nav.<key>
    path: str
    permission: str | None  # None: every signed-in user


# The web shell's navigation, shown only where the user holds the permission.
NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("home", "/", None),
    NavItem("workspace", "/workspace", "desktop.use"),
    NavItem("desk", "/desk", "desktop.use"),
    NavItem("team", "/team", "agents.supervise"),
    NavItem("wallboard", "/wallboard", "agents.supervise"),
    NavItem("customers", "/customers", "customers.read"),
    NavItem("knowledge", "/knowledge", "knowledge.read"),
    NavItem("knowledge_edit", "/knowledge/editor", "knowledge.edit"),
    NavItem("workorders", "/workorders", "workorders.read"),
    NavItem("workorder_reports", "/workorders/reports", "workorders.report"),
    NavItem("wfm_plan", "/wfm", "wfm.read"),
    NavItem("wfm_my", "/wfm/my", "wfm.own"),
    NavItem("wfm_staffing", "/wfm/staffing", "wfm.plan"),
    NavItem("simulation", "/simulation", "wfm.plan"),
    NavItem("ivr", "/ivr", "ivr.read"),
    NavItem("ivr_reports", "/ivr/reports", "ivr.report"),
    NavItem("users", "/admin/users", "users.read"),
    NavItem("org", "/admin/org", "org.manage"),
    NavItem("audit", "/admin/audit", "audit.read"),
    NavItem("tenants", "/admin/tenants", "tenants.manage"),
)
