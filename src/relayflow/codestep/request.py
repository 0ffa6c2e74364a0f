"""What the engine hands a code step, and what it gets back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TIMEOUT = 30.0  # seconds; the workflow setting `code_timeout` overrides it
DEFAULT_MEMORY_MB = 512  # the workflow setting `code_memory_mb` overrides it
# Processes and threads a sandboxed code-step process may have at once, itself included
# (RLIMIT_NPROC): room for thread pools, not for a fork bomb.
DEFAULT_MAX_PROCESSES = 256

# Data-store operations a step may ask for over the pipe, with their arguments:
#   get(key, default)  lookup(key) -> [found, value]  set(key, value, ttl)  delete(key) -> bool
#   keys(prefix) -> [key]  items(prefix) -> [[key, value]]  clear() -> int
#   set_ttl(key, ttl) -> bool  incr(key, amount, default) -> number
#   set_if_absent(key, value, ttl) -> bool  compare_and_set(key, expected, value, ttl) -> bool
STORE_OPS = frozenset(
    {
        "get",
        "lookup",
        "set",
        "delete",
        "keys",
        "items",
        "clear",
        "set_ttl",
        "incr",
        "set_if_absent",
        "compare_and_set",
    }
)

# `(store_name, op, args) -> result`, sync or async; raising refuses the operation and the
# step sees the message (e.g. DataStoreError: "... holds a str, not a number").
DataStoreHandler = Callable[[str, str, dict[str, Any]], Any | Awaitable[Any]]


@dataclass
class CodeRequest:
    source: str  # module text defining handler(pd) (Node.js: export default defineComponent)
    filename: str  # for tracebacks, e.g. "signup/steps/score.py" or "<workflow>:<step>"
    steps: dict[str, Any]  # pd.steps
    inputs: dict[str, Any]  # pd.inputs; {"$data_store": NAME} becomes a data-store proxy
    context: dict[str, Any]  # pd.context, with resume_url/cancel_url precomputed
    timeout: float = DEFAULT_TIMEOUT  # seconds
    memory_mb: int = DEFAULT_MEMORY_MB  # address-space limit of the process (RLIMIT_AS)
    python: str | None = None  # interpreter of a requirements environment; None: the pool's
    # Code of different workflows never shares a process: a step cannot leave something
    # behind (a patched module, a thread) that reads the next workflow's inputs. None: shared.
    workflow: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # added to os.environ for this call
    runtime: str = "python"  # or "nodejs": `source` is an ES module (a Pipedream component)
    packages: str | None = None  # Node.js: the folder of its npm packages; None: none

    @property
    def program(self) -> str | None:
        """What the process must run for this step: interpreter, or packages folder."""
        return self.packages if self.runtime == "nodejs" else self.python

    def data_stores(self) -> frozenset[str]:
        """The data stores this step was given, and so may use."""
        return frozenset(
            value["$data_store"]
            for value in self.inputs.values()
            if isinstance(value, dict)
            and len(value) == 1
            and isinstance(value.get("$data_store"), str)
        )


@dataclass
class CodeResult:
    return_value: Any = None
    exports: dict[str, Any] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)  # stdout and stderr lines, in order
    error: dict[str, Any] | None = None  # {"name", "message", "traceback"}: user frames only
    exit_reason: str | None = None  # pd.flow.exit
    delay_ms: float | None = None  # pd.flow.delay
    rerun: dict[str, Any] | None = None  # pd.flow.rerun: {"delay_ms", "max_retries"[, "context"]}
    response: dict[str, Any] | None = None  # pd.respond: {"status", "headers", "body"}
    duration_ms: float = 0.0  # time in the worker process, as the pool saw it

    @property
    def ok(self) -> bool:
        return self.error is None


def failure(name: str, message: str, logs: list[str] | None = None) -> CodeResult:
    return CodeResult(error={"name": name, "message": message, "traceback": ""}, logs=logs or [])
