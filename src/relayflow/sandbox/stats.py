"""Counts of what the sandbox received, for relayflow's batching tests and benchmarks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

# Records-per-upload histogram buckets: (label, highest count in the bucket).
_BUCKETS = (
    ("0", 0),
    ("1", 1),
    ("2-10", 10),
    ("11-50", 50),
    ("51-100", 100),
    ("101-250", 250),
    ("251-500", 500),
    ("501-999", 999),
    ("1000", 1000),
)
# Past this many uploads the per-request list stops growing; the histogram still counts.
MAX_KEPT_UPLOAD_SIZES = 100_000


@dataclass
class Stats:
    """Request counters; updated only from the server's event loop."""

    total: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    by_account: Counter[str] = field(default_factory=Counter)
    uploads: int = 0
    upload_records: int = 0
    processed: int = 0
    unprocessed: int = 0
    records_per_request: list[int] = field(default_factory=list)
    histogram: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)
    peak_in_flight: Counter[str] = field(default_factory=Counter)

    def clear(self) -> None:
        """Zero the counters; requests in flight stay counted so their exits balance."""
        fresh = Stats()
        for item in fields(self):
            if item.name != "in_flight":
                setattr(self, item.name, getattr(fresh, item.name))
        self.peak_in_flight = Counter({a: n for a, n in self.in_flight.items() if n > 0})

    def request_started(self, path: str) -> None:
        self.total += 1
        self.by_path[path] += 1

    def request_finished(self, status: int) -> None:
        self.by_status[status] += 1

    def enter(self, account: str) -> int:
        """Count one more request in flight for the account; return how many are in flight."""
        self.by_account[account] += 1
        self.in_flight[account] += 1
        count = self.in_flight[account]
        self.peak_in_flight[account] = max(self.peak_in_flight[account], count)
        return count

    def leave(self, account: str) -> None:
        self.in_flight[account] -= 1

    def upload(self, records: int, processed: int, unprocessed: int) -> None:
        self.uploads += 1
        self.upload_records += records
        self.processed += processed
        self.unprocessed += unprocessed
        if len(self.records_per_request) < MAX_KEPT_UPLOAD_SIZES:
            self.records_per_request.append(records)
        self.histogram[_bucket(records)] += 1

    def snapshot(self) -> dict[str, Any]:
        sizes = self.records_per_request
        return {
            "requests": {
                "total": self.total,
                "by_path": dict(self.by_path),
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "by_account": dict(self.by_account),
            },
            "uploads": {
                "requests": self.uploads,
                "records": self.upload_records,
                "processed": self.processed,
                "unprocessed": self.unprocessed,
                "records_per_request": list(sizes),
                "mean_records_per_request": (
                    round(self.upload_records / self.uploads, 2) if self.uploads else 0
                ),
                "max_records_per_request": max(sizes, default=0),
                "histogram": {
                    label: self.histogram[label]
                    for label in [*(b for b, _ in _BUCKETS), ">1000"]
                    if self.histogram[label]
                },
            },
            "concurrency": {
                account: {"in_flight": self.in_flight[account], "peak": peak}
                for account, peak in self.peak_in_flight.items()
            },
        }


def _bucket(records: int) -> str:
    for label, high in _BUCKETS:
        if records <= high:
            return label
    return ">1000"
