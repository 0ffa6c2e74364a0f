"""The workflow model (DESIGN §2): one trigger, ordered steps, settings."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from relayflow.codestep.node import PackagesError
from relayflow.codestep.node import normalise as normalise_packages
from relayflow.model.base import Model
from relayflow.model.settings import RetryPolicy, Settings
from relayflow.model.triggers import HttpTrigger, ManualTrigger, ScheduleTrigger, Trigger
from relayflow.steps import Step, kind_of, walk

__all__ = [
    "HttpTrigger",
    "ManualTrigger",
    "RetryPolicy",
    "ScheduleTrigger",
    "Settings",
    "Step",
    "Trigger",
    "Workflow",
    "kind_of",
    "walk",
]

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


class Workflow(Model):
    name: str
    description: str = ""
    trigger: Trigger
    steps: list[Step] = Field(default_factory=list)
    requirements: list[str] = Field(
        default_factory=list, description="pip packages for code steps, e.g. ['phonenumbers']"
    )
    packages: list[str] = Field(
        default_factory=list,
        description="npm packages for Node.js code steps, e.g. ['lodash@^4.17']",
    )
    settings: Settings = Field(default_factory=Settings)

    @field_validator("packages")
    @classmethod
    def _npm_packages(cls, value: list[str]) -> list[str]:
        try:
            normalise_packages(value)
        except PackagesError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(
                f"workflow name {value!r} must be lower-case letters, digits, - _ or ., "
                "starting with a letter or digit, e.g. signup-to-clevertap"
            )
        return value

    @field_validator("steps")
    @classmethod
    def _unique_steps(cls, steps: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for step in walk(steps):
            if step.name in seen:
                raise ValueError(f"two steps are named {step.name!r}; step names must be unique")
            seen.add(step.name)
        return steps

    def retry_policy(self, step: Any) -> RetryPolicy:
        """The step's own `retries:`, else the workflow's."""
        return getattr(step, "retries", None) or self.settings.retries

    def step_timeout(self, step: Any) -> float:
        """The step's own `timeout:`, else the workflow's (one attempt of one step)."""
        own = getattr(step, "timeout", None)
        return own if own is not None else self.settings.timeout
