"""Workflow definitions: the pydantic models and the file loader."""

from relayflow.model.workflow import (
    HttpTrigger,
    RetryPolicy,
    ScheduleTrigger,
    Settings,
    Step,
    Trigger,
    Workflow,
)

__all__ = [
    "HttpTrigger",
    "RetryPolicy",
    "ScheduleTrigger",
    "Settings",
    "Step",
    "Trigger",
    "Workflow",
]
