"""How a step's `with:` meets its action's declared inputs.

- JSON text given for an input declared as an object or a list (what a form's JSON box
  holds, or a quoted YAML string) reads as the object or list it spells, so a value in it
  that is one `{{ … }}` keeps the expression's type, as it does in YAML's own `{…}`.
- A value of the wrong type is described for the person who wrote it: which input, what
  it expects, and what it got (`steps.charge.with.query: expected an object, got text …`).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from relayflow.expressions import NotJson, has_expression, json_with_expressions


def _accepts(annotation: Any) -> tuple[bool, bool]:
    """(takes an object or a list, takes text) for a declared input type."""
    if annotation is Any or annotation is object:
        return True, True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        found = [_accepts(arg) for arg in typing.get_args(annotation)]
        return any(s for s, _ in found), any(t for _, t in found)
    if origin is typing.Annotated:
        return _accepts(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return False, any(isinstance(v, str) for v in typing.get_args(annotation))
    base = origin or annotation
    if isinstance(base, type):
        if issubclass(base, str):
            return False, True
        structured = issubclass(base, Mapping | list | tuple | set | BaseModel)
        return structured, False
    return False, False


def structured(value: Any, annotation: Any) -> Any:
    """`value`, or the object or list its JSON text spells when the input takes one.

    Text is read as JSON when it starts like an object or a list (not a `{{ }}` or `{% %}`
    of its own) and either holds expressions or the input does not take text. Raises
    NotJson when such text is not JSON and the input could not take it as text.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text.startswith(("{", "[")) or text.startswith(("{{", "{%")):
        return value
    takes_structure, takes_text = _accepts(annotation)
    if not takes_structure or (takes_text and not has_expression(value)):
        return value
    try:
        return json_with_expressions(text)
    except NotJson:
        if takes_text:
            return value
        raise


def typed_with(with_: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """`with:` with JSON text read as objects and lists where the inputs declare them.

    `fields` are the action's pydantic model fields; unknown keys pass unchanged (the
    check reports them). Raises NotJson (its message naming the input) for broken JSON.
    """
    by_alias = {(f.alias or name): f for name, f in fields.items()}
    out = {}
    for key, value in with_.items():
        info = by_alias.get(key) or fields.get(key)
        if info is None:
            out[key] = value
            continue
        try:
            out[key] = structured(value, info.annotation)
        except NotJson as exc:
            raise NotJson(f"{key}: is text that is not JSON ({exc})") from None
    return out


# Describing a value of the wrong type ---------------------------------------------

_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "datetime_type": "a date-time (ISO 8601, e.g. 2026-01-31T09:00:00Z, or epoch seconds)",
    "datetime_parsing": "a date-time (ISO 8601, e.g. 2026-01-31T09:00:00Z, or epoch seconds)",
    "datetime_from_date_parsing": "a date-time (ISO 8601 or epoch seconds)",
    "none_required": "null",
    "url_parsing": "a URL",
    "url_type": "a URL",
}


def kind_of_value(value: Any) -> str:
    """What a value is, in JSON's words, with a short preview: `text "abc"`, `a list of 2`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "…"
        return f"text {shown!r}"
    if isinstance(value, Mapping):
        keys = ", ".join(map(str, list(value)[:5])) + (", …" if len(value) > 5 else "")
        return f"an object ({keys or 'empty'})"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    return type(value).__name__


def _path(data: Any, loc: Iterable[Any], missing: bool) -> tuple[list[Any], Any]:
    """The part of `loc` that is in `data` (leaving out pydantic's union-member tags),
    and the value found there; for a `missing` error, the key that is missing too."""
    path: list[Any] = []
    value = data
    for part in loc:
        found = isinstance(value, Mapping) and part in value
        found = (
            found or isinstance(value, list | tuple) and isinstance(part, int) and part < len(value)
        )
        if found:
            value = value[part]
            path.append(part)
        elif missing and isinstance(value, Mapping):
            path.append(part)
            value = None
            break
    return path, value


def show_path(where: str, path: Iterable[Any]) -> str:
    text = where
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def input_problems(exc: ValidationError, data: Any, where: str) -> list[str]:
    """One message per wrong input of `data`: `where.key: expected …, got …`."""
    return [f"{show_path(where, path)}: {reason}" for path, reason in wrong_inputs(exc, data)]


def wrong_inputs(exc: ValidationError, data: Any) -> list[tuple[list[Any], str]]:
    """(where in `data`, what is wrong) per wrong value: `expected an object, got …`."""
    grouped: dict[tuple, list[dict[str, Any]]] = {}
    values: dict[tuple, Any] = {}
    for err in exc.errors():
        path, value = _path(data, err["loc"], err["type"] == "missing")
        key = tuple(path)
        grouped.setdefault(key, []).append(err)
        values[key] = value
    return [(list(key), _reason(errors, values[key])) for key, errors in grouped.items()]


def _reason(errors: list[dict[str, Any]], value: Any) -> str:
    if any(e["type"] == "missing" for e in errors):
        return "is required"
    if any(e["type"] == "extra_forbidden" for e in errors):
        return "is not an input here"
    expected = [_EXPECTED[e["type"]] for e in errors if e["type"] in _EXPECTED]
    for e in errors:
        if e["type"] in ("literal_error", "enum"):
            expected.append("one of " + str((e.get("ctx") or {}).get("expected", "")))
    if expected:
        unique = list(dict.fromkeys(expected))
        if "a number" in unique and "a whole number" in unique:
            unique.remove("a whole number")
        return f"expected {' or '.join(unique)}, got {kind_of_value(value)}"
    reasons = "; ".join(e["msg"].removeprefix("Value error, ") for e in errors)
    return f"{reasons} (got {kind_of_value(value)})"
