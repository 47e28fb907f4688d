"""Tenancy and access: tenants, sites, teams, users, roles, sessions, tokens and the audit log."""

from kefu.tenancy.model import NAV_ITEMS, NavItem, Principal, Role, permissions_for
from kefu.tenancy.scope import Scoped

__all__ = ["NAV_ITEMS", "NavItem", "Principal", "Role", "Scoped", "permissions_for"]
