"""Triggers: what starts a workflow's runs (DESIGN §1): http, schedule or manual."""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, field_validator, model_validator

from relayflow.model.base import Model
from relayflow.sdk import Duration

HTTP_PATH = re.compile(r"^[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~-]+)*$")


class HttpTrigger(Model):
    path: str = Field(description="Requests to /hooks/<path> start runs")
    auth: Literal["none", "token"] = "none"
    token: str | None = Field(None, description="Bearer token; or set RELAYFLOW_HOOK_TOKEN_<NAME>")
    respond: Literal["immediately", "from_workflow"] = "immediately"
    response_timeout: Duration = 30.0

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        value = value.strip().strip("/")
        if value.startswith("hooks/"):
            value = value[len("hooks/") :]
        if value.startswith("_"):
            raise ValueError(f"{value!r}: paths starting with _ are reserved for relayflow")
        if not HTTP_PATH.match(value):
            raise ValueError(
                f"{value!r} is not a usable path; use letters, digits, - _ . ~ and /, e.g. signup"
            )
        return value

    @model_validator(mode="after")
    def _token(self) -> HttpTrigger:
        if self.auth == "none" and self.token:
            raise ValueError("a token is set but auth is none; set auth: token to require it")
        return self


class ScheduleTrigger(Model):
    cron: str | None = None
    interval: Duration | None = None
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise ValueError(
                f"{value!r} is not a cron expression; use 5 fields, e.g. '*/15 * * * *'"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as Europe/Berlin"
            ) from None
        return value

    @model_validator(mode="after")
    def _one_of(self) -> ScheduleTrigger:
        if (self.cron is None) == (self.interval is None):
            raise ValueError("give exactly one of cron or interval")
        if self.interval is not None and self.interval < 1:
            raise ValueError("interval must be at least 1s")
        return self


class ManualTrigger(Model):
    pass


class Trigger(Model):
    http: HttpTrigger | None = None
    schedule: ScheduleTrigger | None = None
    manual: ManualTrigger | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        given = [k for k in ("http", "schedule", "manual") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a workflow has exactly one trigger: http, schedule or manual"
                + (f" (found {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        return "http" if self.http else "schedule" if self.schedule else "manual"
