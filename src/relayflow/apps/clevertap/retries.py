"""How long a CleverTap request keeps trying: exponential backoff with jitter, in a budget.

The budget bounds the time one step spends retrying; after it the step fails with a
retryable error and the engine's durable retries (`retries:` in the workflow) take over.
`RELAYFLOW_CLEVERTAP_RETRY_SECONDS` changes the budget (default 15 s).
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

RETRY_SECONDS_ENV = "RELAYFLOW_CLEVERTAP_RETRY_SECONDS"


@dataclass(frozen=True)
class RequestRetries:
    """How long a request keeps trying before the step fails (and the engine takes over)."""

    budget: float = 15.0  # seconds from the first attempt; no retry starts after this
    initial: float = 0.25
    max_delay: float = 4.0
    max_attempts: int = 10

    @classmethod
    def from_env(cls) -> RequestRetries:
        raw = os.environ.get(RETRY_SECONDS_ENV, "").strip()
        if not raw:
            return cls()
        try:
            return cls(budget=float(raw))
        except ValueError:
            raise ValueError(
                f"{RETRY_SECONDS_ENV}={raw!r} is not a number of seconds; set e.g. 15"
            ) from None

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        base = min(self.max_delay, self.initial * 2 ** (attempt - 1))
        return random.uniform(base / 2, base)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a `Retry-After` header asks to wait (a number or an HTTP date), or None."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None
