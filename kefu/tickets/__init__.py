"""Work orders (工单): typed templates, back-office groups, SLA on business calendars, escalation,
follow-up (回访) and automatic reopen — the complaint closed loop."""

from kefu.tickets.model import Action, Category, Priority, Status
from kefu.tickets.sla import TEMPLATES, SlaPolicy, Target, Unit

__all__ = ["TEMPLATES", "Action", "Category", "Priority", "SlaPolicy", "Status", "Target", "Unit"]
