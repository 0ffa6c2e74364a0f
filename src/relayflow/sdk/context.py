"""What an action sees while it runs: the run, its account, logs, exports and responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from relayflow.sdk.data_stores import DataStoreAccess


class StepError(Exception):
    """A step failed in a way its message fully explains; `details` is shown in inspect.

    `retryable=False` tells the engine that retrying cannot help (bad data, bad credentials).
    """

    def __init__(self, message: str, *, details: Any = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.details = details
        self.retryable = retryable


@dataclass
class HttpResponse:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


Responder = Callable[[HttpResponse], Awaitable[bool]]


@dataclass
class StepContext:
    """One attempt of one step: who runs it, its account, and what it records."""

    run_id: str
    event_id: str
    workflow: str
    version: int
    step: str
    attempt: int
    test: bool
    http: aiohttp.ClientSession  # shared keep-alive connections (http.request uses it)
    account: Any = None
    responder: Responder | None = None
    logs: list[str] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    exit_reason: str | None = None
    stores: DataStoreAccess | None = None  # data stores shared across workflows
    delay_seconds: float | None = None  # set by flow actions: sleep after this step

    def log(self, *parts: Any) -> None:
        self.logs.append(" ".join(str(p) for p in parts))

    def export(self, name: str, value: Any) -> None:
        if name == "$return_value":
            raise ValueError("$return_value is set by returning a value, not by export")
        self.exports[name] = value

    def summary(self, text: str) -> None:
        """The one line shown for this step in run lists and the inspector."""
        self.exports["$summary"] = text

    def exit(self, reason: str = "") -> None:
        """End the run after this step, successfully, with `reason` (status `exited`)."""
        self.exit_reason = reason or "exited"

    async def respond(self, response: HttpResponse) -> bool:
        """Answer the HTTP request that started this run; False when nobody is waiting."""
        if self.responder is None:
            self.log("http.respond: no HTTP request is waiting for this run (test or replay)")
            return False
        return await self.responder(response)
