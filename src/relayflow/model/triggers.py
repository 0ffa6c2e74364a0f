"""Triggers: what starts a workflow's runs (DESIGN §1): http, schedule, source or manual."""

from __future__ import annotations

import re
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, field_validator, model_validator

from relayflow.model.base import Model
from relayflow.sdk import Duration

HTTP_PATH = re.compile(r"^[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~-]+)*$")
WEEK = 7 * 86400.0


def hook_path(value: str) -> str:
    """A path under /hooks/, as written or pasted (`/hooks/signup/` is `signup`)."""
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


class Verify(Model):
    """How an http trigger checks a signed delivery before acknowledging it."""

    scheme: Literal["standard_webhooks", "hmac"] = Field(
        description="standard_webhooks (Svix, Resend, Clerk, …) or hmac (one header)"
    )
    secret: str | None = Field(None, description="env:NAME: the secret in an environment variable")
    account: str | None = Field(None, description="Or an account whose webhook_secret signs")
    header: str | None = Field(None, description="hmac: the header holding the signature")
    algorithm: Literal["sha256", "sha1", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = Field("", description="hmac: text before the signature, e.g. sha256=")
    tolerance: Duration = Field(300.0, description="standard_webhooks: timestamp tolerance")

    @model_validator(mode="after")
    def _complete(self) -> Verify:
        if (self.secret is None) == (self.account is None):
            raise ValueError("give the signing secret once: `secret: env:NAME` or `account: NAME`")
        if self.secret is not None and not self.secret.startswith("env:"):
            raise ValueError(
                "a secret does not belong in a workflow file: put it in an environment variable"
                " and write `secret: env:NAME`, or in an account (`account: NAME`)"
            )
        if self.scheme == "hmac" and not self.header:
            raise ValueError("scheme hmac needs `header:`, the header that holds the signature")
        return self


class HttpTrigger(Model):
    path: str = Field(description="Requests to /hooks/<path> start runs")
    auth: Literal["none", "token"] = "none"
    token: str | None = Field(None, description="Bearer token; or set RELAYFLOW_HOOK_TOKEN_<NAME>")
    respond: Literal["immediately", "from_workflow"] = "immediately"
    response_timeout: Duration = 30.0
    verify: Verify | None = Field(None, description="Check a signature before acknowledging")
    idempotency_key: str | None = Field(
        None, description="An expression over the request, e.g. {{ headers['x-request-id'] }}"
    )
    dedupe_window: Duration = Field(WEEK, description="How long a key counts as seen")
    raw_body: bool = Field(False, description="Keep the exact body as raw_body in the event")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return hook_path(value)

    @model_validator(mode="after")
    def _token(self) -> HttpTrigger:
        if self.auth == "none" and self.token:
            raise ValueError("a token is set but auth is none; set auth: token to require it")
        return self


MIN_EVERY = 1.0


def backfill_count(value: int | str) -> int | None:
    """How many existing items a first poll emits: None for all."""
    return None if value == "all" else 0 if value == "none" else int(value)


class SourceTrigger(Model):
    """An app's source: `uses: app.source`, with its account and inputs."""

    uses: str = Field(description="The source, as app.source (see `relayflow sources`)")
    account: str | None = Field(None, description="The app's account (it holds the secret)")
    path: str | None = Field(None, description="Webhook sources: served at /hooks/<path>")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    dedupe_window: Duration | None = Field(
        None, description="How long a delivery's id counts as seen (default: the source's, 7d)"
    )
    every: Duration | None = Field(
        None, description="Polling sources: how often to check (default: the source's own)"
    )
    backfill: int | Literal["all", "none"] = Field(
        10, description="Polling sources, first poll: all, none or the N most recent items"
    )

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else hook_path(value)

    @field_validator("every")
    @classmethod
    def _every(cls, value: float | None) -> float | None:
        if value is not None and value < MIN_EVERY:
            raise ValueError(f"every: {value:g}s is too often; poll at most once a second (1s)")
        return value

    @field_validator("backfill", mode="before")
    @classmethod
    def _backfill(cls, value: Any) -> Any:
        if isinstance(value, bool) or (isinstance(value, int) and value < 0):
            raise ValueError(f"backfill: {value!r}; write all, none or a number of items, e.g. 10")
        if isinstance(value, str) and value not in ("all", "none"):
            if value.isdigit():
                return int(value)
            raise ValueError(f"backfill: {value!r}; write all, none or a number of items, e.g. 10")
        return value


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


TRIGGER_KINDS = ("http", "schedule", "source", "manual")


class Trigger(Model):
    http: HttpTrigger | None = None
    schedule: ScheduleTrigger | None = None
    source: SourceTrigger | None = None
    manual: ManualTrigger | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        given = [k for k in TRIGGER_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a workflow has exactly one trigger: http, schedule, source or manual"
                + (f" (found {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in TRIGGER_KINDS if getattr(self, k) is not None)

    @property
    def hook_path(self) -> str | None:
        """The path under /hooks/ this trigger is served at, if it is served over HTTP."""
        if self.http is not None:
            return self.http.path
        if self.source is not None:
            return self.source.path
        return None
