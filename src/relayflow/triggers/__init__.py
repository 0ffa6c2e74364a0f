"""Triggers: what starts runs (http webhooks, schedules)."""
