"""Prometheus metrics (DESIGN §9): what came in, what ran, how long steps took."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

registry = CollectorRegistry()

events_ingested = Counter(
    "relayflow_events_ingested", "Events accepted and committed", ["trigger"], registry=registry
)
deliveries_skipped = Counter(
    "relayflow_deliveries_skipped",
    "Signed deliveries that started no run: duplicate, ignored (type not subscribed), refused",
    ["outcome"],
    registry=registry,
)
polls = Counter(
    "relayflow_polls",
    "Polls of polling sources, by outcome: ok or failed",
    ["outcome"],
    registry=registry,
)
hook_rejected = Counter(
    "relayflow_hook_rejected",
    "Webhook requests refused, by HTTP status",
    ["status"],
    registry=registry,
)
runs_finished = Counter(
    "relayflow_runs_finished", "Runs that reached a final status", ["status"], registry=registry
)
steps_executed = Counter(
    "relayflow_steps_executed",
    "Step attempts, by action and outcome",
    ["action", "status"],
    registry=registry,
)
step_seconds = Histogram(
    "relayflow_step_seconds",
    "Time one step attempt took",
    ["action"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=registry,
)
runs_in_flight = Gauge(
    "relayflow_runs_in_flight", "Runs this process is executing now", registry=registry
)
queue_depth = Gauge(
    "relayflow_queue_depth", "Runs waiting in the queue (ready or delayed)", registry=registry
)
db_commits = Counter(
    "relayflow_db_commits", "Grouped transactions committed by this process", registry=registry
)


# Worker processes: their samples are added to the server's /metrics ----------------------

Snapshot = list[list[Any]]  # [[family, type, help, [[sample, labels, value], ...]], ...]


def snapshot() -> Snapshot:
    """This process's metrics as JSON-ready lists, for the process that serves /metrics."""
    return [
        [m.name, m.type, m.documentation, [[s.name, s.labels, s.value] for s in m.samples]]
        for m in registry.collect()
    ]


class Merged:
    """What /metrics shows: this process's metrics plus the worker processes' snapshots,
    counters, gauges and histogram buckets summed sample by sample."""

    def __init__(self, snapshots: list[Snapshot]) -> None:
        self.snapshots = snapshots

    def collect(self) -> list[Metric]:
        families: dict[str, Metric] = {}
        values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        for name, kind, doc, samples in [f for snap in [snapshot(), *self.snapshots] for f in snap]:
            if name not in families:
                families[name] = Metric(name, doc, kind)
                values[name] = {}
            summed = values[name]
            for sample, labels, value in samples:
                key = (sample, tuple(sorted(labels.items())))
                if key not in summed:
                    summed[key] = value
                elif sample.endswith("_created"):  # when it was created: the earliest
                    summed[key] = min(summed[key], value)
                else:
                    summed[key] += value
        for name, family in families.items():
            for (sample, labels), value in values[name].items():
                family.add_sample(sample, dict(labels), value)
        return list(families.values())
