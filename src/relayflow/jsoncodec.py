"""JSON text for what relayflow stores: events, step inputs and results, definitions."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> str:
    """`value` as compact JSON text; pydantic models are dumped as JSON data."""
    return orjson.dumps(value, default=_default).decode()


def loads(text: str | bytes | None) -> Any:
    """The value of JSON text; None stays None (a column that holds nothing)."""
    return None if text is None else orjson.loads(text)


def _default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
