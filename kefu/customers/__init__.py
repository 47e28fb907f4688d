"""Customers: profiles, tags, identities and contact history (customer 360)."""

from kefu.customers.masking import mask_phone

__all__ = ["mask_phone"]
