"""Tenancy and access: tenants, sites, teams, users, roles, sessions, tokens and the audit log."""

from kefu.tenancy.audit import add_audit
from kefu.tenancy.lookups import site_code_of, user_in_tenant
from kefu.tenancy.model import NAV_ITEMS, NavItem, Principal, Role, permissions_for
from kefu.tenancy.scope import Scoped
from kefu.tenancy.services import tenant_calendar

__all__ = [
    "NAV_ITEMS",
    "NavItem",
    "Principal",
    "Role",
    "Scoped",
    "add_audit",
    "permissions_for",
    "site_code_of",
    "tenant_calendar",
    "user_in_tenant",
]
