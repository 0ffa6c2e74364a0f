"""Apply one upload's profileData to stored profile properties, as CleverTap does.

Plain values overwrite; a plain array overwrites a multi-value property; `$add`/`$remove`
edit a multi-value property (a scalar is promoted, items stay unique, and beyond 100 items
the oldest are dropped); `$incr`/`$decr` start from 0 when the property is missing or not a
number; `$delete` removes the property. A null value leaves the stored property as it is.
"""

from __future__ import annotations

from typing import Any

from relayflow.apps.clevertap.rules import MAX_MULTI_VALUES


def apply_profile_data(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Return new profile properties: `current` with `update` applied (neither is changed)."""
    result = dict(current)
    for key, value in update.items():
        if value is None:
            continue
        if isinstance(value, dict):
            ((operation, operand),) = value.items()
            _apply_operation(result, key, operation, operand)
        elif isinstance(value, list):
            result[key] = _unique(value)[-MAX_MULTI_VALUES:]
        else:
            result[key] = value
    return result


def _apply_operation(props: dict[str, Any], key: str, operation: str, operand: Any) -> None:
    if operation == "$delete":
        props.pop(key, None)
    elif operation in ("$incr", "$decr"):
        base = props.get(key)
        if not isinstance(base, int | float) or isinstance(base, bool):
            base = 0
        props[key] = base + operand if operation == "$incr" else base - operand
    elif operation == "$add":
        values = _as_list(props.get(key))
        values = _unique(values + _as_list(operand))
        props[key] = values[-MAX_MULTI_VALUES:]
    elif operation == "$remove":
        removed = set(_as_list(operand))
        remaining = [item for item in _as_list(props.get(key)) if item not in removed]
        if remaining:
            props[key] = remaining
        else:
            props.pop(key, None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return [value if isinstance(value, str) else str(value)]


def _unique(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    unique = []
    for value in values:
        marker = value if isinstance(value, str | int | float) else repr(value)
        if marker not in seen:
            seen.add(marker)
            unique.append(value)
    return unique
