"""What every step kind shares, and what a kind implements.

A step kind (action, code, filter, if, switch, delay, end) is one object that knows its
YAML shape (a pydantic model), the checks a file gets before it is deployed, how a step
of its kind compiles into the flat program of nodes, and how one of its nodes runs. The
model, the loader, the compiler and the runner all dispatch on it, so adding a kind is
adding one module to this package (and its form in the builder).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, field_validator

from relayflow.expressions import Evaluator, ExpressionError, compile_value
from relayflow.sdk import Action, Registry, Responder
from relayflow.steps.outcome import StepOutcome

if TYPE_CHECKING:  # the engine's types, named here only for type checkers
    import aiohttp

    from relayflow.model.workflow import Workflow
    from relayflow.sdk import DataStoreAccess

STEP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


class StepModel(BaseModel):
    """Base of every kind's YAML shape: a name, and no field the kind does not know."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str

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


@dataclass
class Node:
    """One instruction of a compiled workflow. `next` is where the run goes after it."""

    index: int
    name: str
    kind: StepKind
    step: Any  # the kind's StepModel
    next: int = -1
    action: Action | None = None
    inputs: Evaluator | None = None
    condition: Evaluator | None = None
    timeout: float = 30.0
    source: str | None = None  # code steps
    branches: dict[str, int] = field(default_factory=dict)  # if/switch: label -> first node
    branch_steps: dict[str, list[str]] = field(default_factory=dict)  # join: label -> names

    @property
    def key(self) -> str:
        """What the metrics and the inspector call this kind of node."""
        return self.kind.metric_key(self)

    @property
    def holds_slot(self) -> bool:
        return self.kind.holds_slot(self)

    def evaluate(self, context: Mapping[str, Any]) -> dict[str, Any]:
        return self.inputs(context) if self.inputs else {}


# What the loader and the compiler give a kind ----------------------------------------


Report = Callable[[tuple, str], None]  # (location under the step, message)


@dataclass(frozen=True)
class Hints:
    """How a problem's fix is worded for the person who reads it: `CLI` for a terminal and
    workflow files, `UI` for the web UI (its buttons, not command lines)."""

    actions: str  # where the actions are listed
    sources: str
    account: str  # how a step names its account
    connect: str  # where an account is connected ({app}, {name})
    path: str  # how a webhook source gets its path
    code_file: str  # what to do with a code_file that cannot be read here


CLI = Hints(
    actions="see `relayflow actions`",
    sources="see `relayflow sources`",
    account="add `account: <name>`",
    connect="with `relayflow accounts add {app} {name} ...`",
    path="give the `path:` to serve it at",
    code_file="put the code in `code:`, or deploy the file with `relayflow deploy`",
)
UI = Hints(
    actions="search the action library with + Add a step",
    sources="choose one under Starts when",
    account="choose one in the step's account picker",
    connect="on the Accounts page (or with Connect new account on the step)",
    path="fill in its Path",
    code_file="paste the code into the step's code box",
)


@dataclass(frozen=True)
class Installed:
    """What the installation has that a workflow file refers to. `accounts` (name → app)
    is None when accounts are not checked (e.g. a file read without a database)."""

    accounts: Mapping[str, str] | None = None
    hints: Hints = CLI


@dataclass
class Check:
    """What a kind's `check` may use: where to report, where the file lives, the apps, and
    what the installation has."""

    report: Report
    base_dir: Path | None
    registry: Registry
    installed: Installed = field(default_factory=Installed)

    @property
    def hints(self) -> Hints:
        return self.installed.hints


def check_account(name: str | None, app: str, user: str, loc: tuple, check: Check) -> None:
    """Report an `account:` that is not connected, or that belongs to another app than
    `app`; `user` names what needs it (an action or a source)."""
    accounts = check.installed.accounts
    if accounts is None or not name:
        return
    hints, titles = check.hints, check.registry.apps
    mine = sorted(n for n, a in accounts.items() if a == app)
    title = titles[app].title if app in titles else app
    use = f"use one of the {title} accounts: {', '.join(mine)}" if mine else ""
    if name not in accounts:
        connect = f"connect it {hints.connect.format(app=app, name=name)}"
        check.report(loc, f"no account named {name!r}; {connect}" + (f", or {use}" if use else ""))
        return
    other = accounts[name]
    if other != app:
        theirs = titles[other].title if other in titles else other
        fix = use or f"connect one {hints.connect.format(app=app, name='NAME')}"
        check.report(
            loc,
            f"account {name!r} is a {theirs} account ({other}), but {user} needs a {title}"
            f" account: {fix}",
        )


def check_value(value: Any, where: str, loc: tuple, report: Report) -> None:
    """Report an expression in `value` that does not compile (`where` names the input)."""
    try:
        compile_value(value, where)
    except ExpressionError as exc:
        report(loc, str(exc).split(": ", 1)[1])


class Program(Protocol):
    """The flat program being compiled (relayflow.engine.compiled)."""

    workflow: Workflow
    registry: Registry

    def add(self, node: Node) -> Node: ...

    def emit(self, steps: list[Any]) -> list[Node]: ...

    def read_code(self, step: Any) -> str: ...

    @property
    def size(self) -> int: ...


# What the runner gives a kind --------------------------------------------------------


class Accounts(Protocol):
    """Connected accounts, for steps that name them."""

    def resolve(self, name: str, app: str) -> tuple[Any, list[str]]:
        """What the app's actions use as `ctx.account`, and the secrets to redact."""
        ...

    def fields(self, name: str) -> tuple[dict[str, Any], list[str]]:
        """The account's fields (code steps' `$auth`), and the secrets to redact."""
        ...


class Links(Protocol):
    def url(self, run_id: str, step: str, action: str, until: float) -> str:
        """A signed link that resumes or cancels the run while it sleeps at `step`, valid
        until `until` (plus a grace period)."""
        ...


class Responses(Protocol):
    def responder(self, run: Any, workflow: Any) -> Responder | None:
        """How a step of this run answers the HTTP request that started it, if one waits."""
        ...


class CodeRunner(Protocol):
    """Runs a code step's source out of process (relayflow.engine.code)."""

    async def run(self, request: Any) -> Any: ...

    async def python_for(self, requirements: list[str]) -> str | None: ...

    async def node_modules_for(self, packages: list[str]) -> str | None: ...


@dataclass
class StepServices:
    """Everything outside the run that a step may use; one object for every kind."""

    http: aiohttp.ClientSession
    env: Mapping[str, str] = field(default_factory=dict)
    accounts: Accounts | None = None
    stores: DataStoreAccess | None = None
    links: Links | None = None
    responses: Responses | None = None
    code: CodeRunner | None = None


@dataclass
class Attempt:
    """One attempt of one node of one run: what a kind's `run` works with."""

    run: Any  # relayflow.store.runs.ClaimedRun
    workflow: Any  # relayflow.engine.compiled.CompiledWorkflow
    node: Node
    scope: Mapping[str, Any]
    number: int
    services: StepServices

    def trigger_context(self) -> dict[str, Any]:
        return trigger_context(self.run, self.workflow)


def trigger_context(run: Any, workflow: Any) -> dict[str, Any]:
    """`steps.trigger.context`: the event's id and time, the run, the workflow, and what
    its trigger knew besides the payload (a source's topic, say)."""
    return {
        **run.event_context,
        "id": run.event_id,
        "run_id": run.id,
        "ts": run.event_received_at,
        "workflow": workflow.name,
        "version": workflow.version,
        "replay": run.replay_of is not None,
        "test": run.test,
    }


class StepKind:
    """One kind of step. Subclasses set `name`, `markers` and `model`, and implement
    `compile` and `run`; `check` and `children` have defaults."""

    name: ClassVar[str]
    markers: ClassVar[tuple[str, ...]] = ()  # YAML keys that make a step this kind
    model: ClassVar[type[StepModel] | None] = None

    def children(self, step: Any) -> list[tuple[tuple[str, ...], list[Any]]]:
        """Nested step lists, each with its location under the step (e.g. ("then",))."""
        return []

    def check(self, step: Any, check: Check) -> None:
        """Report what the model alone cannot check (expressions, actions, code)."""

    def compile(self, step: Any, program: Program) -> list[Node]:
        """Add this step's nodes; return the nodes whose `next` is the step's successor."""
        raise NotImplementedError

    async def run(self, attempt: Attempt) -> StepOutcome:
        raise NotImplementedError

    def metric_key(self, node: Node) -> str:
        return f"flow.{self.name}"

    def holds_slot(self, node: Node) -> bool:
        """Whether a run executing `node` counts against its workflow's `concurrency`:
        user code and calls do; flow control, which only routes the run, does not."""
        return False
