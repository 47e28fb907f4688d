"""Customer services used by other features."""

from __future__ import annotations

from datetime import datetime

from kefu.customers.tables import Customer, Interaction
from kefu.tenancy import Scoped

__all__ = ["check_customer", "identify_customer", "record_interaction", "vip_level_of"]


def check_customer(scope: Scoped, customer_id: int) -> None:
    """A field error unless the customer exists in the caller's tenant."""
    scope.check_refs({"customer_id": customer_id}, {"customer_id": Customer})


def identify_customer(scope: Scoped, *, phone: str, name: str = "") -> int | None:
    """The customer with this phone number in the tenant; a new profile when there is none.

    An empty phone identifies nobody (None): an anonymous visitor stays anonymous.
    """
    phone = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if not phone:
        return None
    found = scope.session.scalar(
        scope.select(Customer).where(Customer.phone == phone).order_by(Customer.id).limit(1)
    )
    if found is not None:
        return int(found.id)
    created = scope.add(
        Customer(name=name.strip()[:120] or phone[-4:], phone=phone, created_at=scope.clock.now())
    )
    return int(created.id)


def record_interaction(
    scope: Scoped,
    *,
    customer_id: int,
    channel: str,
    started_at: datetime,
    ended_at: datetime | None,
    queue_code: str = "",
    agent_id: int | None = None,
    business_type: str = "",
    disposition: str = "",
    is_complaint: bool = False,
    summary: str = "",
) -> int:
    """Add one contact to the customer's history (the customer-360 timeline)."""
    check_customer(scope, customer_id)
    row = scope.add(
        Interaction(
            customer_id=customer_id,
            channel=channel,
            started_at=started_at,
            ended_at=ended_at,
            queue_code=queue_code,
            agent_id=agent_id,
            business_type=business_type[:60],
            disposition=disposition[:60],
            is_complaint=is_complaint,
            summary=summary,
        )
    )
    return int(row.id)


def vip_level_of(scope: Scoped, customer_id: int) -> int:
    """0 normal, 1 silver, 2 gold, 3 diamond (0 for an unknown id)."""
    row = scope.session.get(Customer, customer_id)
    return int(row.vip_level) if row is not None and row.tenant_id == scope.tenant_id else 0
