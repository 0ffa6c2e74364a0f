"""The audit log: every change (deploy, rollback, pause, activate, delete, accounts, users,
replays) with who made it, when and what.

    with audit.acting_as("user admin"):        # the API, the UI and the CLI say who acts
        workflows.pause("signup")              # the service records "workflow.pause"

Services call `record(db, action, target, **details)` after a change is stored; the actor
comes from the context the interface set (`acting_as`), so no service signature carries
it. A change made where nobody said who acts is recorded as "relayflow" (the platform).
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

from relayflow.ids import new_id
from relayflow.store.audit import AuditRow, insert_entry, list_entries
from relayflow.store.database import Database

__all__ = [
    "AuditRow",
    "acting_as",
    "actor",
    "command_line_actor",
    "entries",
    "record",
    "set_actor",
]

Actor = str | Callable[[], str]  # a callable answers when a change is recorded
_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)


def actor() -> str:
    found = _actor.get()
    name = found() if callable(found) else found
    return name or "relayflow"


def set_actor(name: Actor) -> None:
    """Who acts for the rest of this context (a request's task, or a CLI process); a
    callable is asked at each change (a request knows its user only once signed in)."""
    _actor.set(name)


@contextlib.contextmanager
def acting_as(name: Actor) -> Iterator[None]:
    token = _actor.set(name)
    try:
        yield
    finally:
        _actor.reset(token)


def command_line_actor() -> str:
    """The OS user who runs a `relayflow` command, and where."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown user"
    return f"{user}@{socket.gethostname()} (command line)"


def record(db: Database, action: str, target: str, **details: Any) -> None:
    """Add one entry: `action` such as "workflow.deploy", `target` the thing changed."""
    row = AuditRow(new_id(), time.time(), actor(), action, target, details)
    insert_entry(db, row)


def entries(db: Database, **filters: Any) -> list[AuditRow]:
    """Newest first; filters: limit, action (a prefix), target, actor, since (epoch s)."""
    return list_entries(db, **filters)
