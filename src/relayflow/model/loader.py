"""Reading workflow files: every problem is reported as `file:line: path.to.field: what`.

A file is checked in full (YAML syntax, the model, the actions each step uses, their
inputs, every expression, and, given what is installed, the accounts steps name) before
anything is deployed; all problems come back at once, in the order of the file. A step or
trigger the model refuses does not hide the problems of the others: each part that reads
on its own is checked further.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from relayflow.model.triggers import Trigger
from relayflow.model.workflow import Workflow
from relayflow.sdk import discover
from relayflow.steps import Step, kind_of
from relayflow.steps.base import Check, Installed, check_account, check_value


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
    installed: Installed | None = None  # what it was checked against, if anything


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


def parse_workflow(
    source: str,
    file: str = "<text>",
    base_dir: Path | None = None,
    installed: Installed | None = None,
) -> LoadedWorkflow:
    """Validate one workflow document; raises WorkflowFileError with every problem found.

    `base_dir` is where `code_file:` paths are read from (None: they cannot be read);
    `installed`, what the installation has (its accounts are checked when given).
    """
    given = installed
    installed = installed or Installed()
    try:
        node = yaml.compose(source)
        _check_size(node, file)
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(exc, "problem", None) or str(exc)
        raise WorkflowFileError([Problem(file, line, "", f"not valid YAML: {reason}")]) from None
    except RecursionError:  # deeper than MAX_DEPTH by far: the parser itself gave up
        message = f"nested far deeper than the {MAX_DEPTH} levels allowed"
        raise WorkflowFileError([Problem(file, 1, "", message)]) from None
    if not isinstance(data, dict) or node is None:
        raise WorkflowFileError(
            [Problem(file, 1, "", "expected a mapping with name, trigger and steps")]
        )
    lines = _lines(node)
    checks = _Checks(lines, file, base_dir, installed)
    try:
        workflow = Workflow.model_validate(data)
    except ValidationError as exc:
        problems = [checks.model_problem(err) for err in exc.errors()]
        raise WorkflowFileError(_in_file_order(problems + checks.parts(data))) from None
    checks.trigger(workflow.trigger)
    checks.steps(workflow.steps, ("steps",))
    if checks.problems:
        raise WorkflowFileError(_in_file_order(checks.problems))
    return LoadedWorkflow(workflow, source, file, given)


MAX_DEPTH = 100  # levels of nesting; a workflow needs about a dozen
MAX_NODES = 100_000  # values once aliases are expanded; a 1,000-step workflow has ~20,000
MAX_DIGITS = 4_000  # under Python's 4,300-digit limit on reading an integer


def _scalar_problem(node: yaml.ScalarNode) -> str:
    """What YAML would fail on, with a ValueError, when building this value ("" if nothing)."""
    if node.tag.endswith(":int") and len(node.value) > MAX_DIGITS:
        return f"a number with {len(node.value):,} digits; at most {MAX_DIGITS:,} are read"
    if node.tag.endswith(":timestamp"):
        try:
            yaml.constructor.SafeConstructor().construct_yaml_timestamp(node)
        except ValueError as exc:
            return f"{node.value!r} reads as a date but is not one ({exc}); quote it"
    return ""


def _check_size(root: yaml.Node | None, file: str) -> None:
    """Refuse alias bombs ("billion laughs"), deep nesting and values YAML cannot build
    before anything expands them: each distinct node is counted once, with the size its
    aliases expand to, and a problem names the first path it is found at."""
    sizes: dict[int, int] = {}

    def refuse(node: yaml.Node, path: tuple, message: str) -> WorkflowFileError:
        return WorkflowFileError([Problem(file, node.start_mark.line + 1, _show(path), message)])

    def size(node: yaml.Node, path: tuple) -> int:
        if len(path) > MAX_DEPTH:
            raise refuse(node, path[:3], f"nested deeper than the {MAX_DEPTH} levels allowed")
        if id(node) in sizes:
            return sizes[id(node)]
        children: list[tuple[yaml.Node, tuple]] = []
        if isinstance(node, yaml.ScalarNode) and (problem := _scalar_problem(node)):
            raise refuse(node, path, problem)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                children += [(key, path), (value, path + (name,))]
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, path + (index,)) for index, item in enumerate(node.value)]
        total = 1
        for child, child_path in children:
            total += size(child, child_path)
            if total > MAX_NODES:
                raise refuse(
                    node,
                    path,
                    f"expands to more than {MAX_NODES:,} values (through aliases such as "
                    "*name); write the values out or use fewer aliases",
                )
        sizes[id(node)] = total
        return total

    if root is not None:
        size(root, ())


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: p.line)


_STEP = TypeAdapter(Step)


class _Checks:
    """The checks beyond the model, each reporting `file:line: path: message`."""

    def __init__(
        self, lines: dict[tuple, int], file: str, base_dir: Path | None, installed: Installed
    ) -> None:
        self.lines, self.file, self.base_dir, self.installed = lines, file, base_dir, installed
        self.registry = discover()
        self.problems: list[Problem] = []

    def report(self, loc: tuple, message: str) -> None:
        self.problems.append(Problem(self.file, _line_for(self.lines, loc), _show(loc), message))

    def model_problem(self, err: Any) -> Problem:
        loc = tuple(p for p in err["loc"] if not _internal(p))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "is not a known field"
        return Problem(self.file, _line_for(self.lines, loc), _show(loc), message)

    def parts(self, data: dict[str, Any]) -> list[Problem]:
        """The checks of the trigger and of each step that the model reads on their own,
        when the workflow as a whole has problems."""
        try:
            trigger = Trigger.model_validate(data.get("trigger"))
        except ValidationError:
            trigger = None  # the model's problems already name it
        if trigger is not None:
            self.trigger(trigger)
        steps = data.get("steps")
        for index, raw in enumerate(steps if isinstance(steps, list) else []):
            try:
                step = _STEP.validate_python(raw)
            except ValidationError:
                continue
            self.steps([step], ("steps",), start=index)
        return self.problems

    def trigger(self, trigger: Trigger) -> None:
        """What the trigger model cannot check alone: the source exists, its inputs fit and
        its account is connected, expressions compile."""
        if trigger.http is not None and trigger.http.idempotency_key is not None:
            where = ("trigger", "http", "idempotency_key")
            check_value(trigger.http.idempotency_key, _show(where), where, self.report)
        if trigger.source is None:
            return
        here = ("trigger", "source")
        hints = self.installed.hints
        source = self.registry.source(trigger.source.uses)
        if source is None:
            app = trigger.source.uses.split(".")[0]
            near = sorted(k for k in self.registry.sources if k.split(".")[0] == app)
            hint = f"; {app} has: {', '.join(near)}" if near else ""
            self.report(
                (*here, "uses"),
                f"no source named {trigger.source.uses!r}{hint} ({hints.sources})",
            )
            return
        if source.needs_account and not trigger.source.account:
            needs = f"{source.key} needs the app's account: {hints.account}"
            self.report((*here, "account"), needs)
        check = Check(self.report, self.base_dir, self.registry, self.installed)
        check_account(trigger.source.account, source.app, source.key, (*here, "account"), check)
        given = trigger.source.model_fields_set
        if source.kind == "webhook":
            if not trigger.source.path:
                self.report((*here, "path"), f"{source.key} is a webhook: {hints.path}")
            for name in ("every", "backfill"):
                if name in given:
                    message = f"{source.key} is a webhook source; it is not polled"
                    self.report((*here, name), message)
        else:
            for name in ("path", "dedupe_window"):
                if name in given:
                    self.report(
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
                self.report(loc, message)

    def steps(self, steps: list[Any], base: tuple, start: int = 0) -> None:
        """The checks the model alone cannot make, by each step's kind: actions exist,
        inputs fit, accounts are connected, expressions and code compile. `code_file`
        contents are read (relative to the file) and inlined."""
        for index, step in enumerate(steps, start=start):
            here = base + (index,)

            def report(loc: tuple, message: str, here: tuple = here) -> None:
                self.report(here + loc, message)

            kind = kind_of(step)
            kind.check(step, Check(report, self.base_dir, self.registry, self.installed))
            for where, branch in kind.children(step):
                self.steps(branch, here + where)


def load_file(path: Path, installed: Installed | None = None) -> LoadedWorkflow:
    return parse_workflow(path.read_text(encoding="utf-8"), str(path), path.parent, installed)


def load_paths(paths: Iterable[Path], installed: Installed | None = None) -> list[LoadedWorkflow]:
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
            item = load_file(file, installed)
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
