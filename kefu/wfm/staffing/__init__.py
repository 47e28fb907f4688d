"""Staffing calculator: required agents per interval (calc.py, pure), its API and page."""
