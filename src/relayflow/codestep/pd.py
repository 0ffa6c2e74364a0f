"""The `pd` object of `def handler(pd)`: steps, inputs, context, export, flow, respond.

Runs inside the code-step process (see child.py), on any interpreter: standard library only.
Everything a step hands over (return value, exports, responses, data-store values) must be
JSON; the checks here say which part is not, at the line that handed it over.
"""

from __future__ import annotations

from typing import Any, Protocol

MAX_DELAY_MS = 365 * 24 * 3600 * 1000


class Channel(Protocol):
    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send `message` to the pool and return its answer."""


class DataStoreError(Exception):
    """A data-store operation was refused (e.g. incr on a value that is not a number)."""


def unserialisable(value: Any, path: str, depth: int = 0) -> str | None:
    """The first part of `value` that JSON cannot hold, described for the user."""
    if value is None or isinstance(value, str | bool):
        return None
    if isinstance(value, int):
        if -(2**63) <= value < 2**64:
            return None
        return f"{path} is an integer beyond 64 bits ({value}); give it as a string"
    if isinstance(value, float):
        if value == value and value not in (float("inf"), float("-inf")):
            return None
        return f"{path} is {value!r} (NaN and Infinity are not JSON)"
    if depth > 500:
        return f"{path} is nested too deeply"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool) and key is not None:
                return f"{path} has a key of type {type(key).__name__} ({key!r})"
            found = unserialisable(item, f"{path}[{key!r}]", depth + 1)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unserialisable(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
        return None
    return f"{path} is a {type(value).__module__}.{type(value).__qualname__}".replace(
        "builtins.", ""
    )


def check_json(value: Any, what: str) -> None:
    problem = unserialisable(value, what)
    if problem:
        raise TypeError(
            f"{problem}, which is not JSON-serialisable; use str, int, float, bool, None,"
            " list and dict (e.g. str(value), value.isoformat(), list(value))"
        )


class DataStore:
    """A data store, used like a dict, plus atomic operations: incr, set_if_absent,
    compare_and_set. Each call is one round trip to the platform's database."""

    def __init__(self, name: str, channel: Channel) -> None:
        self._name = name
        self._channel = channel

    def _op(self, op: str, **args: Any) -> Any:
        answer = self._channel.ask({"t": "store", "store": self._name, "op": op, "args": args})
        if not answer.get("ok"):
            raise DataStoreError(answer.get("error") or "the data store refused the operation")
        return answer.get("value")

    @staticmethod
    def _key(key: Any) -> str:
        if not isinstance(key, str):
            raise TypeError(f"data store keys are strings, not {type(key).__name__} ({key!r})")
        return key

    def get(self, key: str, default: Any = None) -> Any:
        found, value = self._op("lookup", key=self._key(key))
        return value if found else default

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        check_json(value, "the value")
        self._op("set", key=self._key(key), value=value, ttl=ttl)

    def delete(self, key: str) -> bool:
        """Remove `key`; True when it was there."""
        return bool(self._op("delete", key=self._key(key)))

    def has(self, key: str) -> bool:
        return bool(self._op("lookup", key=self._key(key))[0])

    def keys(self, prefix: str = "") -> list[str]:
        return list(self._op("keys", prefix=prefix))

    def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        return [tuple(pair) for pair in self._op("items", prefix=prefix)]

    def values(self, prefix: str = "") -> list[Any]:
        return [value for _key, value in self.items(prefix)]

    def clear(self) -> int:
        """Remove every key of this store (irreversible); returns how many there were."""
        return int(self._op("clear"))

    def set_ttl(self, key: str, ttl: float | None = None) -> bool:
        """Expire `key` in `ttl` seconds (None: never); False when there is no such key."""
        return bool(self._op("set_ttl", key=self._key(key), ttl=ttl))

    def incr(self, key: str, amount: int | float = 1, default: int | float = 0) -> int | float:
        """Add `amount` atomically (starting from `default`) and return the new value."""
        return self._op("incr", key=self._key(key), amount=amount, default=default)

    def set_if_absent(self, key: str, value: Any, ttl: float | None = None) -> bool:
        """Set `key` only if it has no value; True when this call set it."""
        check_json(value, "the value")
        return bool(self._op("set_if_absent", key=self._key(key), value=value, ttl=ttl))

    def compare_and_set(
        self, key: str, expected: Any, value: Any, ttl: float | None = None
    ) -> bool:
        """Set `key` to `value` only if it still holds `expected` (None: no value)."""
        check_json(value, "the value")
        check_json(expected, "the expected value")
        args = {"key": self._key(key), "expected": expected, "value": value, "ttl": ttl}
        return bool(self._op("compare_and_set", **args))

    def __getitem__(self, key: str) -> Any:
        found, value = self._op("lookup", key=self._key(key))
        if not found:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        if not self.delete(key):
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.has(key)

    def __iter__(self):  # noqa: ANN204 - an iterator of keys, like a dict's
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f"<data store {self._name!r}>"


class Flow:
    """Flow control from a step; each takes effect after the step returns."""

    def __init__(self, context: dict[str, Any]) -> None:
        self._urls = {
            "resume_url": context.get("resume_url"),
            "cancel_url": context.get("cancel_url"),
        }
        self.exit_reason: str | None = None
        self.delay_ms: float | None = None
        self.rerun_args: dict[str, Any] | None = None

    def exit(self, reason: str = "") -> None:
        """End the run after this step (`return pd.flow.exit("why")`)."""
        self.exit_reason = str(reason) if reason else "exited"

    def delay(self, ms: float) -> dict[str, Any]:
        """Pause the run for `ms` milliseconds after this step (durable: no process waits)."""
        self.delay_ms = _milliseconds(ms, "pd.flow.delay")
        return dict(self._urls)

    def rerun(
        self, delay_ms: float, *args: Any, max_retries: int | None = None, context: Any = None
    ) -> dict[str, Any]:
        """Run this step again after `delay_ms`, at most `max_retries` times (default 10).

        Takes Pipedream's `rerun(delay_ms, context, max_retries)` and `rerun(delay_ms, n)`.
        """
        if len(args) > 2:
            raise TypeError("pd.flow.rerun(delay_ms, max_retries=10) takes at most 3 arguments")
        if len(args) == 1 and isinstance(args[0], int) and not isinstance(args[0], bool):
            max_retries = args[0] if max_retries is None else max_retries
        elif args:
            context = args[0]
            if len(args) == 2:
                max_retries = args[1]
        retries = 10 if max_retries is None else max_retries
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ValueError(
                f"pd.flow.rerun: max_retries must be a whole number >= 0, not {retries!r}"
            )
        self.rerun_args = {
            "delay_ms": _milliseconds(delay_ms, "pd.flow.rerun"),
            "max_retries": retries,
        }
        if context is not None:
            check_json(context, "pd.flow.rerun context")
            self.rerun_args["context"] = context
        return dict(self._urls)


def _milliseconds(ms: Any, what: str) -> float:
    if isinstance(ms, bool) or not isinstance(ms, int | float) or not 0 <= ms <= MAX_DELAY_MS:
        raise ValueError(
            f"{what}: give milliseconds between 0 and {MAX_DELAY_MS} (a year), not {ms!r}"
        )
    return float(ms)


class Pd:
    """The `pd` of `def handler(pd)`: steps, inputs, context, export, flow, respond."""

    def __init__(self, message: dict[str, Any], channel: Channel) -> None:
        self.steps: dict[str, Any] = message.get("steps") or {}
        self.context: dict[str, Any] = message.get("context") or {}
        self.inputs: dict[str, Any] = {
            name: DataStore(value["$data_store"], channel) if _is_store(value) else value
            for name, value in (message.get("inputs") or {}).items()
        }
        self.flow = Flow(self.context)
        self.exports: dict[str, Any] = {}
        self.response: dict[str, Any] | None = None

    def export(self, name: str, value: Any) -> None:
        """Make `value` available to later steps as steps.<this step>.<name>."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"pd.export: the name must be a non-empty string, not {name!r}")
        if name == "$return_value":
            raise ValueError("pd.export: $return_value is set by returning a value")
        check_json(value, f"pd.export({name!r}) value")
        self.exports[name] = value

    def respond(self, response: dict[str, Any]) -> None:
        """Answer the HTTP request that started the run: {"status", "headers", "body"}."""
        if self.response is not None:
            raise RuntimeError("pd.respond was already called in this step")
        if self.flow.delay_ms is not None:
            raise RuntimeError("pd.respond cannot be used after pd.flow.delay")
        if not isinstance(response, dict):
            raise TypeError(
                f"pd.respond takes a dict with status, headers and body, not "
                f"{type(response).__name__}"
            )
        unknown = set(response) - {"status", "headers", "body"}
        if unknown:
            raise ValueError(
                f"pd.respond: unknown keys {sorted(unknown)}; use status, headers, body"
            )
        status = response.get("status", 200)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"pd.respond: status must be an HTTP status code, not {status!r}")
        headers = response.get("headers") or {}
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise TypeError("pd.respond: headers must be a dict of strings")
        body = response.get("body")
        check_json(body, "pd.respond body")
        self.response = {"status": status, "headers": headers, "body": body}


def _is_store(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$data_store"), str)


# Running one call -------------------------------------------------------------------------
