"""Reading workflow files: every problem is reported as `file:line: path.to.field: what`.

A file is checked in full (YAML syntax, the model, the actions each step uses, their
inputs and every expression) before anything is deployed; all problems come back at once.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from relayflow.engine.actions import discover
from relayflow.expressions import ExpressionError, compile_value, has_expression
from relayflow.model.workflow import Step, Workflow


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
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "is not a known field"
            problems.append(Problem(file, _line_for(lines, loc), _show(loc), message))
        raise WorkflowFileError(problems) from None
    base_dir = Path(file).parent if file not in ("<text>", "request") else None
    problems = check_steps(workflow, lines, file, base_dir)
    if problems:
        raise WorkflowFileError(problems)
    return LoadedWorkflow(workflow, source, file)


def check_steps(
    workflow: Workflow, lines: dict[tuple, int], file: str, base_dir: Path | None = None
) -> list[Problem]:
    """The checks the model alone cannot make: actions exist, inputs fit, expressions and
    code compile. `code_file` contents are read (relative to the file) and inlined."""
    problems: list[Problem] = []
    _check_list(workflow.steps, ("steps",), lines, file, base_dir, problems)
    return problems


def _check_list(
    steps: list[Step],
    base: tuple,
    lines: dict[tuple, int],
    file: str,
    base_dir: Path | None,
    problems: list[Problem],
) -> None:
    for index, step in enumerate(steps):
        here = base + (index,)

        def add(loc: tuple, message: str, here: tuple = here) -> None:
            problems.append(Problem(file, _line_for(lines, here + loc), _show(here + loc), message))

        _check_step(step, add, base_dir)
        for label, branch in step.children():
            key = (label,) if label in ("then", "else", "default") else ("cases", label)
            _check_list(branch, here + key, lines, file, base_dir, problems)


def _check_expression(value: Any, where: str, loc: tuple, add: Any) -> None:
    try:
        compile_value(value, where)
    except ExpressionError as exc:
        add(loc, str(exc).split(": ", 1)[1])


def _check_step(step: Step, add: Any, base_dir: Path | None) -> None:
    kind = step.kind
    where = f"steps.{step.name}"
    if kind in ("filter", "if", "switch", "delay"):
        value = {
            "filter": step.filter.continue_if
            if step.filter and step.filter.continue_if is not None
            else (step.filter.exit_if if step.filter else None),
            "if": step.if_,
            "switch": step.switch,
            "delay": step.delay,
        }[kind]
        _check_expression(value, f"{where}.{kind}", (kind,), add)
        return
    if kind == "code":
        _check_code(step, add, base_dir)
        for key, value in step.with_.items():
            _check_expression(value, f"{where}.with.{key}", ("with", key), add)
        return
    if kind != "uses":
        return
    actions = discover()
    act = actions.get(step.uses or "")
    if act is None:
        app = (step.uses or "").split(".")[0]
        near = sorted(k for k in actions if k.split(".")[0] == app)
        hint = f"; {app} has: {', '.join(near)}" if near else ""
        add(("uses",), f"no action named {step.uses!r}{hint} (see `relayflow actions`)")
        return
    if act.needs_account and not step.account:
        add(("account",), f"{step.uses} needs a connected account: add `account: <name>`")
    fields = act.inputs.model_fields
    by_alias = {(f.alias or name): name for name, f in fields.items()}
    for key, value in step.with_.items():
        name = by_alias.get(key, key if key in fields else None)
        if name is None:
            add(("with", key), f"{step.uses} has no input {key!r}; it has: {', '.join(by_alias)}")
            continue
        try:
            compile_value(value, f"{where}.with.{key}")
        except ExpressionError as exc:
            add(("with", key), str(exc).split(": ", 1)[1])
            continue
        if not has_expression(value):
            try:
                TypeAdapter(fields[name].annotation).validate_python(value)
            except ValidationError as exc:
                add(("with", key), exc.errors()[0]["msg"].removeprefix("Value error, "))
    for name, info in fields.items():
        key = info.alias or name
        if info.is_required() and key not in step.with_ and name not in step.with_:
            add(("with",), f"{step.uses} needs the input {key!r} ({info.title or key})")


def _check_code(step: Step, add: Any, base_dir: Path | None) -> None:
    if step.code_file is not None:
        if base_dir is None:
            add(("code_file",), "code_file works when deploying files; put the code in `code:`")
            return
        path = (base_dir / step.code_file).resolve()
        try:
            step.code = path.read_text(encoding="utf-8")
        except OSError as exc:
            add(("code_file",), f"cannot read {path}: {exc.strerror}")
            return
        step.code_file = None
    source = step.code or ""
    loc = ("code",) if step.code_file is None else ("code_file",)
    try:
        tree = ast.parse(source, filename=f"steps.{step.name}.code")
    except SyntaxError as exc:
        add(loc, f"Python syntax error at line {exc.lineno}: {exc.msg}")
        return
    if not any(
        isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "handler"
        for n in tree.body
    ):
        add(loc, "code steps define `def handler(pd):` that returns the step's result")


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
