"""The database schema, shared by SQLite and PostgreSQL.

Timestamps are epoch seconds (floats) and flags are integers so that the hot-path SQL is
the same text on both databases.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

workflows = Table(
    "workflows",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("active", Integer, nullable=False, default=1),
    Column("current_version", Integer, nullable=False),
    Column("http_path", String(500), nullable=True, unique=True),
    Column("concurrency", Integer, nullable=False, default=10),
    Column("throttle_limit", Integer, nullable=True),
    Column("throttle_per", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

workflow_versions = Table(
    "workflow_versions",
    metadata,
    Column("workflow_id", String(32), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("definition", Text, nullable=False),  # the validated model as JSON
    Column("source", Text, nullable=True),  # the YAML it came from
    Column("created_at", Float, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("workflow_id", String(32), nullable=False),
    Column("received_at", Float, nullable=False),
    Column("payload", Text, nullable=False),
    Column("test", Integer, nullable=False, default=0),
    # What the trigger knew besides the payload (a source's topic, shop, delivery id), JSON.
    Column("context", Text, nullable=True),
    Index("ix_events_workflow", "workflow_id", "received_at"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("event_id", String(32), nullable=False),
    Column("workflow_id", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("available_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
    Column("next_step", Integer, nullable=False, default=0),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires", Float, nullable=True),
    Column("claims", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("test", Integer, nullable=False, default=0),
    Column("replay_of", String(32), nullable=True),
    # 0 while the run waits on a batched upload: it does not count against `concurrency`.
    Column("holds_slot", Integer, nullable=False, server_default="1"),
    Index("ix_runs_ready", "status", "available_at"),
    Index("ix_runs_claim", "workflow_id", "status", "available_at"),
    # `test` last: a workflow's runs newest first, and its live runs counted from the
    # index alone (the workflows list's 24-hour figures leave test runs out).
    Index("ix_runs_workflow", "workflow_id", "created_at", "test"),
    Index("ix_runs_created", "created_at"),
    Index("ix_runs_started", "workflow_id", "started_at"),
    Index("ix_runs_event", "event_id"),
)

step_results = Table(
    "step_results",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("step_index", Integer, primary_key=True),
    Column("step_name", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # succeeded | failed | retrying
    Column("inputs", Text, nullable=True),
    Column("return_value", Text, nullable=True),
    Column("exports", Text, nullable=True),
    Column("logs", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=1),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=False),
)

# One row per iteration of a loop (or branch of a parallel block) of a run, rewritten as
# its steps finish: the steps so far, where it goes on, and its result.
iterations = Table(
    "iterations",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("step_index", Integer, primary_key=True),
    Column("iteration", Integer, primary_key=True),
    Column("status", String(16), nullable=False),  # running | succeeded | failed
    Column("next_node", Integer, nullable=False),
    Column("steps", Text, nullable=False),
    Column("result", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=False),
)

schedule_ticks = Table(
    "schedule_ticks",
    metadata,
    Column("workflow_id", String(32), primary_key=True),
    Column("tick", Float, primary_key=True),
    Column("missed", Integer, nullable=False, default=0),
    Column("run_id", String(32), nullable=True),
    UniqueConstraint("workflow_id", "tick", name="uq_schedule_tick"),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("app", String(100), nullable=False),
    Column("fields", Text, nullable=False),  # public fields as JSON
    Column("secrets", Text, nullable=False),  # Fernet token of the secret fields as JSON
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Data stores (relayflow.datastores): named key-value stores shared across workflows.
# `value` is JSON text; a key whose `expires_at` has passed is invisible and purged lazily.
data_store_entries = Table(
    "data_store_entries",
    metadata,
    Column("store", String(100), primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires_at", Float, nullable=True),
    Column("updated_at", Float, nullable=False),
    Index("ix_data_store_entries_expires", "store", "expires_at"),
)

# Users and sessions (relayflow.users): who may sign in to the web UI. Passwords are scrypt
# hashes; a session row holds the SHA-256 of the cookie's token, never the token itself.
users = Table(
    "users",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("role", String(10), nullable=False, server_default="owner"),  # relayflow.users.roles
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 hex of the cookie token
    Column("user_name", String(100), nullable=False),
    Column("csrf", String(64), nullable=False),  # sent back as X-Relayflow-CSRF
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_sessions_user", "user_name"),
)

# Answers of `respond: from_workflow` runs executed in another process than the server that
# holds the request (scale-out): the server polls here while it waits.
http_responses = Table(
    "http_responses",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("status", Integer, nullable=False),
    Column("headers", Text, nullable=False),
    Column("body", Text, nullable=True),
    Column("created_at", Float, nullable=False),
)

# Deliveries of signed webhooks (sources, and http triggers with an idempotency key): the
# key of every accepted delivery until its dedupe window ends, so a repeat makes no run.
# The row commits with the run it started.
deliveries = Table(
    "deliveries",
    metadata,
    Column("workflow_id", String(32), primary_key=True),
    Column("key", String(500), primary_key=True),
    Column("expires_at", Float, nullable=False),
    Column("run_id", String(32), nullable=True),
    Index("ix_deliveries_expires", "expires_at"),
)

# What the last deliveries to a workflow's endpoint came to (accepted, duplicate, not
# subscribed, refused and why), for the builder's trigger card; trimmed per workflow.
delivery_log = Table(
    "delivery_log",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("workflow_id", String(32), nullable=False),
    Column("received_at", Float, nullable=False),
    Column("outcome", String(16), nullable=False),  # accepted|duplicate|ignored|refused
    Column("reason", Text, nullable=True),
    Column("key", String(500), nullable=True),
    Column("event_type", String(200), nullable=True),
    Column("run_id", String(32), nullable=True),
    Index("ix_delivery_log_workflow", "workflow_id", "received_at"),
)

# Polling sources: per workflow, where its source's last committed poll ended (`state`,
# JSON: the greatest or last id, or the source's own position), advanced only in the
# transaction that stores the runs of the items before it and only from the generation
# the poll read; the lease of the process polling it; and what the last polls came to.
poll_cursors = Table(
    "poll_cursors",
    metadata,
    Column("workflow_id", String(32), primary_key=True),
    Column("config", String(64), nullable=False),  # hash of uses/account/with
    Column("generation", Integer, nullable=False),
    Column("state", Text, nullable=True),
    Column("owner", String(200), nullable=True),
    Column("lease_expires", Float, nullable=True),
    Column("next_poll_at", Float, nullable=False),
    Column("last_poll_at", Float, nullable=True),
    Column("last_ok_at", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_error_at", Float, nullable=True),
    Column("failures", Integer, nullable=False),
    Column("emitted", Integer, nullable=False),  # items emitted since the cursor started
    Column("last_emitted", Integer, nullable=False),  # items the last poll emitted
)

# The ids a `unique` polling source has emitted, newest kept per workflow.
poll_seen = Table(
    "poll_seen",
    metadata,
    Column("workflow_id", String(32), primary_key=True),
    Column("item_id", String(500), primary_key=True),
    Column("seen_at", Float, nullable=False),
    Index("ix_poll_seen_workflow", "workflow_id", "seen_at"),
)


# The audit log (relayflow.audit): every change, who made it and when, newest last.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(32), primary_key=True),  # relayflow.ids: sorts by time
    Column("at", Float, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(50), nullable=False),
    Column("target", String(300), nullable=False),
    Column("details", Text, nullable=False),  # JSON object
    Index("ix_audit_log_at", "at"),
)


# API tokens beside the installation's own (relayflow.users.tokens): per user, with a role,
# stored as the SHA-256 of the token; a revoked token keeps its row (revoked_at).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("user_name", String(100), nullable=False),
    Column("role", String(10), nullable=False),
    Column("label", String(100), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    UniqueConstraint("digest", name="uq_api_tokens_digest"),
)
