"""Persistence plumbing shared by every feature: declarative base, types, sessions, event log."""
