"""A workflow's execution controls: concurrency, throttle, retries, time and memory limits."""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from relayflow.model.base import Model
from relayflow.sdk import Duration


class RetryPolicy(Model):
    max: int = Field(0, ge=0, le=100, description="Retries after the first attempt")
    backoff: Literal["exponential", "fixed"] = "exponential"
    initial: Duration = 1.0
    max_delay: Duration = 600.0

    def delay(self, attempt: int) -> float:
        """Seconds before retry number `attempt` (1-based): exponential with jitter, or fixed."""
        if self.backoff == "fixed":
            return self.initial
        base = min(self.max_delay, self.initial * 2 ** (attempt - 1))
        return random.uniform(base / 2, base)


class Throttle(Model):
    limit: int = Field(ge=1, description="Runs that may start per period")
    per: Duration = Field(description="The period, e.g. 1s or 1m")

    @field_validator("per")
    @classmethod
    def _per(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("per must be a positive duration such as 1s or 1m")
        return value


class Notify(Model):
    """Who hears of this workflow's failed runs (and of its first good run after them)."""

    on: list[Literal["failure", "recovered"]] = Field(
        default_factory=lambda: ["failure"], description="failure: a run failed; recovered:"
        " a run succeeded after failed ones"
    )
    to: list[str] = Field(
        default_factory=list,
        description="Apprise URLs (mailto://…, slack://…, json://…); empty: the installation's"
        " RELAYFLOW_NOTIFY_URLS",
    )
    every: Duration = Field(
        600.0, description="At most one failure message per period; later ones are counted"
    )

    @model_validator(mode="before")
    @classmethod
    def _on_key(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `on:` key as the boolean true (as GitHub Actions files know).
        if isinstance(value, dict) and True in value:
            value = {("on" if k is True else k): v for k, v in value.items()}
        return value

    @field_validator("to")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if "://" not in url:
                raise ValueError(
                    f"{url!r} is not a notification URL; write an Apprise URL such as"
                    " mailto://user:pass@smtp.example.com?to=ops@example.com or"
                    " json://hooks.example.com/alerts"
                )
        return urls


class Settings(Model):
    code_timeout: Duration | None = Field(
        None,
        description="Older name of `timeout` for code steps only, kept so that files written"
        " for it still run; `timeout` applies to every step kind",
    )
    code_memory_mb: int = Field(512, ge=32, le=65536, description="Memory limit of a code step")
    # 100, not 10: a run holds its slot through each call, so at 10 a step calling an API
    # that answers in 100 ms delivers at most 100 runs/s (bench/e2e.py (a)); Pipedream sets
    # no limit by default. Set 1 to process events one at a time, in order.
    concurrency: int = Field(
        100, ge=1, le=10000, description="Runs of this workflow in user code and calls at once"
    )
    throttle: Throttle | None = Field(None, description="At most `limit` run starts per `per`")
    retries: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout: Duration = Field(
        30.0, description="Time limit for one attempt of any step, unless it sets its own"
    )
    notify: Notify | None = Field(
        None, description="Messages when runs fail or recover (default: RELAYFLOW_NOTIFY_URLS)"
    )
    error_workflow: str | None = Field(
        None, description="A workflow that gets an event for every run of this one that fails"
    )
