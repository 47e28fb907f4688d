"""Workforce management: staffing math, forecasting and scheduling."""
