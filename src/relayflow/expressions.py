"""`{{ … }}` expressions in step inputs (DESIGN §3): sandboxed Jinja2, compiled once.

- An input that is exactly one expression keeps the value's type; mixed text is a string.
- Pipedream paths work unchanged: `steps.trigger.event.newRow[2]`,
  `steps.shape.$return_value` (`.$name` is rewritten to `["$name"]` before compiling).
- Dict keys win over dict methods, so `event.body.items` is the field, not `dict.items`.
- A reference to something missing raises `ExpressionError` naming the path and what
  exists there, never an empty string.
- JSON text whose values are expressions (what a form's JSON box holds) reads as the
  object or list it spells, so each value keeps its type (`json_with_expressions`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.runtime import Undefined

from relayflow.expression_limits import (
    Deadline,
    LimitedEnvironment,
    LimitError,
    check_length,
    check_output,
)

_SINGLE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}).)*)\}\}\s*$", re.DOTALL)
_DOLLAR_ATTR = re.compile(r"\.\$([A-Za-z_][A-Za-z0-9_]*)")
# In JSON text: a string, or an expression outside strings (whichever starts first).
_STRING_OR_EXPRESSION = re.compile(r'"(?:[^"\\]|\\.)*"|\{\{.*?\}\}', re.DOTALL)


class ExpressionError(Exception):
    """An expression could not be compiled or evaluated; the message says where and why."""


class _Environment(LimitedEnvironment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)


_env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _rewrite(expr: str) -> str:
    return _DOLLAR_ATTR.sub(r'["$\1"]', expr)


def has_expression(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, Mapping):
        return any(has_expression(v) for v in value.values())
    if isinstance(value, list):
        return any(has_expression(v) for v in value)
    return False


Evaluator = Callable[[Mapping[str, Any]], Any]


def is_single_expression(text: str) -> bool:
    """Whether `text` is exactly one `{{ … }}` (its value keeps its type)."""
    single = _SINGLE.match(text)
    return bool(single) and "{{" not in single.group("expr")


class NotJson(ValueError):
    """JSON text that does not parse; the message says where."""


def json_with_expressions(text: str) -> Any:
    """The object or list that JSON `text` spells, where values may be `{{ … }}`
    expressions, quoted (`{"Items": "{{ x }}"}`) or not (`{"Items": {{ x }}}`).

    Raises NotJson when `text` is not such JSON. Valid JSON never has `{{` outside a
    string, so quoting the bare expressions changes nothing else.
    """
    quoted = _STRING_OR_EXPRESSION.sub(
        lambda m: m.group() if m.group().startswith('"') else json.dumps(m.group()), text
    )
    try:
        value = json.loads(quoted)
    except json.JSONDecodeError as exc:
        # Quoting bare expressions moved the columns after them: name the line only then.
        column = f" column {exc.colno}" if quoted == text else ""
        raise NotJson(f"{exc.msg} at line {exc.lineno}{column}") from None
    if not isinstance(value, dict | list):
        raise NotJson("it is not an object or a list")
    return value


def compile_value(value: Any, where: str) -> Evaluator:
    """Compile an input (any JSON-like value) into a function of the expression context.

    `where` names the input for error messages, e.g. `steps.upsert_user.with.email`.
    """
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return lambda _ctx, v=value: v
        single = _SINGLE.match(value)
        if single and "{{" not in single.group("expr"):
            return _compile_expression(single.group("expr"), where)
        return _compile_template(value, where)
    if isinstance(value, Mapping):
        parts = {k: compile_value(v, f"{where}.{k}") for k, v in value.items()}
        if not any(has_expression(v) for v in value.values()):
            return lambda _ctx, v=value: v
        return lambda ctx: {k: fn(ctx) for k, fn in parts.items()}
    if isinstance(value, list):
        items = [compile_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if not any(has_expression(v) for v in value):
            return lambda _ctx, v=value: v
        return lambda ctx: [fn(ctx) for fn in items]
    return lambda _ctx, v=value: v


_PATH = re.compile(r"""^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[-?\d+\]|\["[^"\\]*"\]|\['[^'\\]*'\])*$""")
_SEGMENT = re.compile(r"""\.([A-Za-z_]\w*)|\[(-?\d+)\]|\["([^"\\]*)"\]|\['([^'\\]*)'\]""")


def _path_keys(text: str) -> list[Any] | None:
    """`steps.x["$return_value"].items[0]` as ["steps", "x", "$return_value", "items", 0]."""
    if not _PATH.match(text):
        return None
    root = re.match(r"[A-Za-z_]\w*", text)
    assert root is not None
    keys: list[Any] = [root.group(0)]
    for attr, index, double, single in _SEGMENT.findall(text[root.end() :]):
        keys.append(int(index) if index else attr or double or single)
    return keys


def _too_deep(where: str, source: str) -> str:
    # Jinja's parser and Python's compiler recurse per bracket, block and operator.
    shown = source.strip() if len(source) <= 60 else source.strip()[:60] + "…"
    return f"{where}: {shown!r} is nested too deeply to compile; split it over several steps"


def _compile_expression(source: str, where: str) -> Evaluator:
    text = _rewrite(source.strip())
    try:
        compiled = _env.compile_expression(text, undefined_to_none=False)
        tree = _env.parse("{{ " + text + " }}")
    except TemplateSyntaxError as exc:
        raise ExpressionError(
            f"{where}: {{{{ {source.strip()} }}}} is not valid: {exc.message}"
        ) from None
    except (RecursionError, SyntaxError, MemoryError):
        raise ExpressionError(_too_deep(where, source)) from None
    keys = _path_keys(text)
    fallback = _MISSING
    if keys is None:
        keys, fallback = _path_with_default(text)

    def jinja(ctx: Mapping[str, Any]) -> Any:
        try:
            with Deadline():
                result = compiled(**ctx)
        except UndefinedError:
            raise ExpressionError(_explain_missing(tree, ctx, where, source)) from None
        except ExpressionError:
            raise
        except Exception as exc:  # noqa: BLE001 - shown to the user as the step's error
            raise ExpressionError(f"{where}: {{{{ {source.strip()} }}}} failed: {exc}") from None
        if isinstance(result, Undefined):
            raise ExpressionError(_explain_missing(tree, ctx, where, source))
        try:
            return check_length(_as_data(result))
        except (LimitError, TypeError) as exc:
            raise ExpressionError(f"{where}: {{{{ {source.strip()} }}}} failed: {exc}") from None

    if keys is None:
        return jinja

    def missing(ctx: Mapping[str, Any], at_the_end: bool) -> Any:
        if fallback is _MISSING:
            raise ExpressionError(_explain_missing(tree, ctx, where, source))
        # Jinja's `default` stands in for a missing last key only (not for null, not for
        # a missing key further up, which is an error there).
        return fallback if at_the_end else jinja(ctx)

    end = len(keys) - 1

    def path(ctx: Mapping[str, Any]) -> Any:
        # The common cases, a plain path or `path | default(literal)`, without building a
        # Jinja context for every call.
        value: Any = ctx
        for depth, key in enumerate(keys):
            if isinstance(value, Mapping) and not isinstance(key, int):
                if key not in value:
                    return missing(ctx, depth == end)
                value = value[key]
            elif isinstance(value, list) and isinstance(key, int):
                if not -len(value) <= key < len(value):
                    return missing(ctx, depth == end)
                value = value[key]
            else:
                return jinja(ctx)  # attributes of other objects: Jinja's sandbox decides
        return value

    return path


_MISSING = object()
_DEFAULT = re.compile(
    r"""^(?P<path>.+?)\s*\|\s*default\(\s*(?P<literal>'[^'\\]*'|"[^"\\]*"|-?\d+(?:\.\d+)?"""
    r"""|true|false|none|True|False|None)\s*\)$"""
)
_WORDS = {"true": True, "false": False, "none": None}


def _path_with_default(text: str) -> tuple[list[Any] | None, Any]:
    """`steps.trigger.event.body.plan | default('free')` as (its path's keys, "free")."""
    found = _DEFAULT.match(text)
    keys = _path_keys(found.group("path")) if found else None
    if found is None or keys is None:
        return None, _MISSING
    literal = found.group("literal")
    if literal[0] in "'\"":
        return keys, literal[1:-1]
    if literal.lower() in _WORDS:
        return keys, _WORDS[literal.lower()]
    return keys, float(literal) if "." in literal else int(literal)


_DATA = (str, int, float, bool, type(None), list, tuple, Mapping)


def _as_data(value: Any) -> Any:
    """A value a step can take: data as it is, `range(3)` or `items|map(…)` as a list."""
    if isinstance(value, _DATA):
        return value
    if isinstance(value, range | Iterator):
        return list(value)
    if callable(value):
        raise TypeError("it is a function, not a value a step can take; call it")
    raise TypeError(f"it is a {type(value).__name__}, not a value a step can take")


def _compile_template(source: str, where: str) -> Evaluator:
    text = _rewrite(source)
    try:
        template = _env.from_string(text)
        tree = _env.parse(text)
    except TemplateSyntaxError as exc:
        raise ExpressionError(
            f"{where}: {source!r} is not a valid template: {exc.message}"
        ) from None
    except (RecursionError, SyntaxError, MemoryError):
        raise ExpressionError(_too_deep(where, source)) from None

    def evaluate(ctx: Mapping[str, Any]) -> Any:
        try:
            with Deadline():
                return _render(template, ctx)
        except UndefinedError:
            raise ExpressionError(_explain_missing(tree, ctx, where, source)) from None
        except Exception as exc:  # noqa: BLE001 - shown to the user as the step's error
            raise ExpressionError(f"{where}: {source!r} failed: {exc}") from None

    return evaluate


def _render(template: Any, ctx: Mapping[str, Any]) -> str:
    """The template's text, stopped as soon as it passes the output limit."""
    parts, size = [], 0
    for part in template.generate(**ctx):
        size += len(part)
        check_output(size)
        parts.append(part)
    return "".join(parts)


def _path_of(node: nodes.Node) -> tuple[str, list[Any]] | None:
    keys: list[Any] = []
    while True:
        if isinstance(node, nodes.Getattr):
            keys.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            keys.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            return node.name, list(reversed(keys))
        else:
            return None


def _show(root: str, keys: list[Any]) -> str:
    text = root
    for key in keys:
        if isinstance(key, int):
            text += f"[{key}]"
        elif (
            isinstance(key, str)
            and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key)
            or isinstance(key, str)
            and key.startswith("$")
        ):
            text += f".{key}"
        else:
            text += f"[{key!r}]"
    return text


def _explain_missing(tree: nodes.Node, ctx: Mapping[str, Any], where: str, source: str) -> str:
    chains = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        found = _path_of(node)
        if found:
            chains.append(found)
    chains.sort(key=lambda c: -len(c[1]))
    for root, keys in chains:
        if root in _env.globals and root not in ctx:
            continue  # range, dict, …: what failed is what the expression did with them
        if root not in ctx:
            return f"{where}: {root} is not defined (use steps.<name>… or env.<NAME>)"
        value: Any = ctx[root]
        for depth, key in enumerate(keys):
            parent = _show(root, keys[:depth])
            missing = _show(root, keys[: depth + 1])
            if isinstance(value, Mapping):
                if key in value:
                    value = value[key]
                    continue
                have = ", ".join(map(str, list(value)[:20])) or "nothing"
                return f"{where}: {missing} does not exist ({parent} has: {have})"
            if isinstance(value, list) and isinstance(key, int):
                if -len(value) <= key < len(value):
                    value = value[key]
                    continue
                return f"{where}: {missing} does not exist ({parent} has {len(value)} items)"
            kind = "null" if value is None else type(value).__name__
            return f"{where}: {missing} does not exist ({parent} is {kind}, not an object)"
    return (
        f"{where}: {{{{ {source.strip()} }}}} refers to something that does not exist "
        "or may not be used in an expression"
    )
