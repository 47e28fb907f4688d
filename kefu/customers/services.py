"""Customer services used by other features."""

from __future__ import annotations

from kefu.customers.tables import Customer
from kefu.tenancy import Scoped

__all__ = ["check_customer"]


def check_customer(scope: Scoped, customer_id: int) -> None:
    """A field error unless the customer exists in the caller's tenant."""
    scope.check_refs({"customer_id": customer_id}, {"customer_id": Customer})
