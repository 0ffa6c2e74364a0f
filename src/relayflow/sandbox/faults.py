"""Fault injection: failed responses and added latency for tests and chaos runs."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

FAULT_STATUSES = {
    429: "Too many concurrent requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Faults:
    """What to inject into CleverTap API calls.

    `fail_next` requests fail first, then each request fails with probability `error_rate`;
    failures answer `status` with CleverTap's fail body. Every API call waits `latency_ms`.
    """

    error_rate: float = 0.0
    latency_ms: int = 0
    status: int = 503
    fail_next: int = 0
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.validate()
        self._random = random.Random(self.seed)

    def validate(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate is {self.error_rate}; use a fraction from 0 to 1")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms is {self.latency_ms}; use 0 or more milliseconds")
        if self.status not in FAULT_STATUSES:
            raise ValueError(
                f"status {self.status} cannot be injected; use one of "
                + ", ".join(str(s) for s in FAULT_STATUSES)
            )
        if self.fail_next < 0:
            raise ValueError(f"fail_next is {self.fail_next}; use 0 or more requests")

    def update(self, changes: dict[str, Any]) -> None:
        """Apply changes from the admin endpoint; raise ValueError naming a bad key or value."""
        allowed = {"error_rate", "latency_ms", "status", "fail_next", "seed"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(
                f"unknown fault setting {', '.join(sorted(unknown))}; use "
                + ", ".join(sorted(allowed))
            )
        candidate = Faults(**{**self.settings(), **changes})
        self.error_rate = float(candidate.error_rate)
        self.latency_ms = int(candidate.latency_ms)
        self.status = int(candidate.status)
        self.fail_next = int(candidate.fail_next)
        if "seed" in changes:
            self.seed = candidate.seed
            self._random = random.Random(self.seed)

    def next_failure(self) -> int | None:
        """The status to fail the next request with, or None to let it through."""
        if self.fail_next > 0:
            self.fail_next -= 1
            return self.status
        if self.error_rate and self._random.random() < self.error_rate:
            return self.status
        return None

    def settings(self) -> dict[str, Any]:
        return {
            "error_rate": self.error_rate,
            "latency_ms": self.latency_ms,
            "status": self.status,
            "fail_next": self.fail_next,
            "seed": self.seed,
        }
