"""Prometheus metrics an app may add to relayflow's `/metrics`."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Histogram

from relayflow.metrics import registry


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    """A counter named `relayflow_<name>` (exposed as `relayflow_<name>_total`)."""
    return Counter(f"relayflow_{name}", documentation, list(labels), registry=registry)


def histogram(
    name: str, documentation: str, labels: Sequence[str] = (), buckets: Sequence[float] = ()
) -> Histogram:
    """A histogram named `relayflow_<name>`."""
    extra = {"buckets": tuple(buckets)} if buckets else {}
    return Histogram(f"relayflow_{name}", documentation, list(labels), registry=registry, **extra)
