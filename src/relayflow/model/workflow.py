"""The workflow model (DESIGN §2): one trigger, ordered steps, settings."""

from __future__ import annotations

import re
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from relayflow.expressions import has_expression
from relayflow.model.duration import Duration, parse_duration

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
STEP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
HTTP_PATH = re.compile(r"^[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~-]+)*$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


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


class RetryPolicy(Model):
    max: int = Field(0, ge=0, le=100, description="Retries after the first attempt")
    backoff: Literal["exponential", "fixed"] = "exponential"
    initial: Duration = 1.0
    max_delay: Duration = 600.0


class Filter(Model):
    """Continue only when `continue_if` is true, or stop when `exit_if` is true."""

    continue_if: Any = None
    exit_if: Any = None
    reason: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Filter:
        if (self.continue_if is None) == (self.exit_if is None):
            raise ValueError("give exactly one of continue_if or exit_if")
        return self


STEP_KINDS = ("uses", "code", "code_file", "filter", "if", "switch", "delay", "end")


class Step(Model):
    """One step. Exactly one of: uses (an action), code / code_file (Python), filter, if,
    switch, delay, end. `if` takes `then` and `else`; `switch` takes `cases` and `default`."""

    name: str
    uses: str | None = None
    code: str | None = None
    code_file: str | None = None
    account: str | None = None
    accounts: dict[str, str] = Field(
        default_factory=dict, description="Code steps: pd.inputs[key]['$auth'] from account"
    )
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    retries: RetryPolicy | None = None
    timeout: Duration | None = None
    filter: Filter | None = None
    if_: Any = Field(None, alias="if")
    then: list[Step] | None = None
    else_: list[Step] | None = Field(None, alias="else")
    switch: Any = None
    cases: dict[str, list[Step]] | None = None
    default: list[Step] | None = None
    delay: Any = Field(None, description="A duration (30s, 5m, 2h, 7d) or an expression")
    end: str | None = Field(None, description="End the run here, with this reason")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not STEP_NAME.match(value):
            raise ValueError(
                f"step name {value!r} must start with a letter or _ and hold only letters, "
                "digits and _ (it is used as steps.<name> in expressions)"
            )
        if value == "trigger":
            raise ValueError("'trigger' is reserved for the trigger's data; pick another name")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        given = [k for k in STEP_KINDS if getattr(self, _FIELD.get(k, k)) is not None]
        if len(given) != 1:
            found = f" (found {', '.join(given)})" if given else ""
            raise ValueError(
                "a step does exactly one thing: uses, code, code_file, filter, if, switch,"
                f" delay or end{found}"
            )
        kind = given[0]
        if kind != "if" and (self.then is not None or self.else_ is not None):
            raise ValueError("then/else belong to an `if` step")
        if kind != "switch" and (self.cases is not None or self.default is not None):
            raise ValueError("cases/default belong to a `switch` step")
        if kind == "if" and self.then is None:
            raise ValueError("an `if` step needs `then:` with the steps to run when it is true")
        if kind == "switch" and not self.cases:
            raise ValueError("a `switch` step needs `cases:` mapping values to steps")
        if kind == "delay" and not has_expression(self.delay):
            parse_duration(self.delay)
        if self.accounts and kind not in ("code", "code_file"):
            raise ValueError("`accounts:` is for code steps; actions take one `account:`")
        return self

    @property
    def kind(self) -> str:
        for kind in STEP_KINDS:
            if getattr(self, _FIELD.get(kind, kind)) is not None:
                return "code" if kind == "code_file" else kind
        raise AssertionError("validated steps have a kind")

    def children(self) -> list[tuple[str, list[Step]]]:
        """Nested step lists with their branch labels, in order."""
        if self.kind == "if":
            return [("then", self.then or []), ("else", self.else_ or [])]
        if self.kind == "switch":
            return [
                *((str(k), v) for k, v in (self.cases or {}).items()),
                ("default", self.default or []),
            ]
        return []


_FIELD = {"if": "if_"}


def walk(steps: list[Step]) -> list[Step]:
    """Every step, nested ones included, in document order."""
    found: list[Step] = []
    for step in steps:
        found.append(step)
        for _label, branch in step.children():
            found.extend(walk(branch))
    return found


class Throttle(Model):
    limit: int = Field(ge=1, description="Runs that may start per period")
    per: Duration = Field(description="The period, e.g. 1s or 1m")

    @field_validator("per")
    @classmethod
    def _per(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("per must be a positive duration such as 1s or 1m")
        return value


class Settings(Model):
    code_timeout: Duration = Field(30.0, description="Time limit for one code step")
    code_memory_mb: int = Field(512, ge=32, le=65536, description="Memory limit of a code step")
    concurrency: int = Field(10, ge=1, le=10000, description="Runs of this workflow at once")
    throttle: Throttle | None = Field(None, description="At most `limit` run starts per `per`")
    retries: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout: Duration = Field(30.0, description="Time limit for one attempt of one step")
    error_workflow: str | None = Field(
        None, description="A workflow that gets an event for every run of this one that fails"
    )


class Workflow(Model):
    name: str
    description: str = ""
    trigger: Trigger
    steps: list[Step] = Field(default_factory=list)
    requirements: list[str] = Field(
        default_factory=list, description="pip packages for code steps, e.g. ['phonenumbers']"
    )
    settings: Settings = Field(default_factory=Settings)

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
    def _unique_steps(cls, steps: list[Step]) -> list[Step]:
        seen: set[str] = set()
        for step in walk(steps):
            if step.name in seen:
                raise ValueError(f"two steps are named {step.name!r}; step names must be unique")
            seen.add(step.name)
        return steps

    def retry_policy(self, step: Step) -> RetryPolicy:
        return step.retries or self.settings.retries

    def step_timeout(self, step: Step) -> float:
        return step.timeout if step.timeout is not None else self.settings.timeout
