"""What every sandbox handler shares: storage, accounts, faults, stats and cursors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relayflow.apps.clevertap.rules import MAX_CONCURRENT_REQUESTS
from relayflow.sandbox.cursors import Cursors
from relayflow.sandbox.faults import Faults
from relayflow.sandbox.stats import Stats
from relayflow.sandbox.store import SandboxStore


@dataclass
class SandboxState:
    """Everything the sandbox's handlers share."""

    store: SandboxStore
    accounts: dict[str, str]
    faults: Faults
    initial_faults: dict[str, Any]
    stats: Stats
    cursors: Cursors
    concurrency_limit: int = MAX_CONCURRENT_REQUESTS  # requests in flight per account
    tokens: dict[str, str] = field(default_factory=dict)  # X-CleverTap-Token per account
