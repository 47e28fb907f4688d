"""Customers: profiles, tags, identities and contact history (customer 360)."""

from kefu.customers.masking import mask_card, mask_phone
from kefu.customers.services import (
    check_customer,
    identify_customer,
    record_interaction,
    vip_level_of,
)

__all__ = [
    "check_customer",
    "identify_customer",
    "mask_card",
    "mask_phone",
    "record_interaction",
    "vip_level_of",
]
