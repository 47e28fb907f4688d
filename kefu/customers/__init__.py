"""Customers: profiles, tags, identities and contact history (customer 360)."""

from kefu.customers.masking import mask_card, mask_phone
from kefu.customers.services import check_customer

__all__ = ["check_customer", "mask_card", "mask_phone"]
