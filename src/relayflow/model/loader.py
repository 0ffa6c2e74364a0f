"""Reading workflow files: every problem is reported as `file:line: path.to.field: what`.

A file is checked in full (YAML syntax, the model, the actions each step uses, their
inputs and every expression) before anything is deployed; all problems come back at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from relayflow.model.workflow import Workflow
from relayflow.sdk import discover
from relayflow.steps import kind_of
from relayflow.steps.base import Check, check_value


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class WorkflowFileError(Exception):
    """One or more problems in workflow files; `str()` lists them one per line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class LoadedWorkflow:
    workflow: Workflow
    source: str
    file: str


def _lines(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value
            out[path + (name,)] = key.start_mark.line + 1
            _lines(value, path + (name,), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, path + (index,), out)
    return out


def _show(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _internal(part: Any) -> bool:
    """Parts of a pydantic error location that are not in the file: validator names and
    the step kind a step was read as ("if step")."""
    text = str(part)
    return text.startswith("function-") or text.endswith(" step")


def _line_for(lines: dict[tuple, int], loc: tuple) -> int:
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


def parse_workflow(source: str, file: str = "<text>") -> LoadedWorkflow:
    """Validate one workflow document; raises WorkflowFileError with every problem found."""
    try:
        node = yaml.compose(source)
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(exc, "problem", None) or str(exc)
        raise WorkflowFileError([Problem(file, line, "", f"not valid YAML: {reason}")]) from None
    if not isinstance(data, dict) or node is None:
        raise WorkflowFileError(
            [Problem(file, 1, "", "expected a mapping with name, trigger and steps")]
        )
    lines = _lines(node)
    try:
        workflow = Workflow.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not _internal(p))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "is not a known field"
            problems.append(Problem(file, _line_for(lines, loc), _show(loc), message))
        raise WorkflowFileError(problems) from None
    base_dir = Path(file).parent if file not in ("<text>", "request") else None
    problems = check_trigger(workflow, lines, file) + check_steps(workflow, lines, file, base_dir)
    if problems:
        raise WorkflowFileError(problems)
    return LoadedWorkflow(workflow, source, file)


def check_trigger(workflow: Workflow, lines: dict[tuple, int], file: str) -> list[Problem]:
    """What the trigger model cannot check alone: the source exists and its inputs fit,
    expressions compile."""
    problems: list[Problem] = []

    def report(loc: tuple, message: str) -> None:
        problems.append(Problem(file, _line_for(lines, loc), _show(loc), message))

    trigger = workflow.trigger
    if trigger.http is not None and trigger.http.idempotency_key is not None:
        where = ("trigger", "http", "idempotency_key")
        check_value(trigger.http.idempotency_key, _show(where), where, report)
    if trigger.source is None:
        return problems
    here = ("trigger", "source")
    registry = discover()
    source = registry.source(trigger.source.uses)
    if source is None:
        app = trigger.source.uses.split(".")[0]
        near = sorted(k for k in registry.sources if k.split(".")[0] == app)
        hint = f"; {app} has: {', '.join(near)}" if near else ""
        report(
            (*here, "uses"),
            f"no source named {trigger.source.uses!r}{hint} (see `relayflow sources`)",
        )
        return problems
    if source.needs_account and not trigger.source.account:
        report((*here, "account"), f"{source.key} needs the app's account: add `account: <name>`")
    given = trigger.source.model_fields_set
    if source.kind == "webhook":
        if not trigger.source.path:
            report((*here, "path"), f"{source.key} is a webhook: give the `path:` to serve it at")
        for name in ("every", "backfill"):
            if name in given:
                report((*here, name), f"{source.key} is a webhook source; it is not polled")
    else:
        for name in ("path", "dedupe_window"):
            if name in given:
                report(
                    (*here, name),
                    f"{source.key} is polled, not served over HTTP: remove `{name}:`"
                    " (`every:` sets how often it is polled)",
                )
    try:
        source.inputs.model_validate(trigger.source.with_)
    except ValidationError as exc:
        for err in exc.errors():
            loc = (*here, "with", *err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"{source.key} has no input {err['loc'][-1]!r}"
            report(loc, message)
    return problems


def check_steps(
    workflow: Workflow, lines: dict[tuple, int], file: str, base_dir: Path | None = None
) -> list[Problem]:
    """The checks the model alone cannot make, by each step's kind: actions exist, inputs
    fit, expressions and code compile. `code_file` contents are read (relative to the
    file) and inlined."""
    problems: list[Problem] = []
    registry = discover()

    def visit(steps: list[Any], base: tuple) -> None:
        for index, step in enumerate(steps):
            here = base + (index,)

            def report(loc: tuple, message: str, here: tuple = here) -> None:
                at = here + loc
                problems.append(Problem(file, _line_for(lines, at), _show(at), message))

            kind = kind_of(step)
            kind.check(step, Check(report, base_dir, registry))
            for where, branch in kind.children(step):
                visit(branch, here + where)

    visit(workflow.steps, ("steps",))
    return problems


def load_file(path: Path) -> LoadedWorkflow:
    return parse_workflow(path.read_text(encoding="utf-8"), str(path))


def load_paths(paths: Iterable[Path]) -> list[LoadedWorkflow]:
    """Load workflow files and folders (*.yaml, *.yml); all problems are raised together."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        elif path.exists():
            files.append(path)
        else:
            raise WorkflowFileError([Problem(str(path), 1, "", "no such file or folder")])
    loaded, problems = [], []
    names: dict[str, str] = {}
    for file in files:
        try:
            item = load_file(file)
        except WorkflowFileError as exc:
            problems.extend(exc.problems)
            continue
        other = names.get(item.workflow.name)
        if other:
            problems.append(
                Problem(str(file), 1, "name", f"{item.workflow.name!r} is also defined in {other}")
            )
        names[item.workflow.name] = str(file)
        loaded.append(item)
    if problems:
        raise WorkflowFileError(problems)
    return loaded
