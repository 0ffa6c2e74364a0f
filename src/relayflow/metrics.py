"""Prometheus metrics (DESIGN §9): what came in, what ran, how long steps took."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
