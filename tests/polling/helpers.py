"""Workflows on polling sources, and reading what they emitted straight from the database."""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import Relayflow

HEADER = ["user_id", "email", "plan"]


def files_workflow(name: str, path: Path, backfill: Any = "all", every: str = "1s") -> str:
    return f"""\
name: {name}
trigger:
  source:
    uses: files.new_rows
    every: {every}
    backfill: {backfill}
    with: {{path: "{path}"}}
steps:
  - name: note
    uses: util.echo
    with: {{value: "{{{{ steps.trigger.event.newRow[1] }}}}"}}
"""


def write_rows(path: Path, rows: list[list[Any]], header: bool = True) -> None:
    """Append rows to a CSV file (with the header first when the file is new)."""
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        if new and header:
            writer.writerow(HEADER)
        writer.writerows(rows)


def signups(start: int, count: int) -> list[list[str]]:
    return [[f"u-{n}", f"user{n}@example.com", "pro"] for n in range(start, start + count)]


def events_of(rf: Relayflow, workflow: str) -> list[dict[str, Any]]:
    """Every event the workflow received, oldest first, read from the database."""
    sql = (
        "SELECT e.payload FROM events e JOIN workflows w ON w.id = e.workflow_id"
        " WHERE w.name = ? ORDER BY e.received_at, e.id"
    )
    if rf.database_url.startswith("sqlite"):
        with sqlite3.connect(rf.database_url.removeprefix("sqlite:///"), timeout=30) as conn:
            rows = conn.execute(sql, (workflow,)).fetchall()
    else:
        import psycopg

        with psycopg.connect(rf.database_url) as conn:
            rows = conn.execute(sql.replace("?", "%s"), (workflow,)).fetchall()
    return [json.loads(row[0]) for row in rows]


def emails(rf: Relayflow, workflow: str) -> Counter[str]:
    """How often each row (by its email) was emitted."""
    return Counter(event["row"]["email"] for event in events_of(rf, workflow))


def wait_until(check: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.2)


def wait_emitted(rf: Relayflow, workflow: str, count: int, timeout: float = 30) -> Counter[str]:
    """The emitted rows once there are `count`; then a little longer, to see no more come."""
    found: Counter[str] = Counter()

    def enough() -> bool:
        nonlocal found
        found = emails(rf, workflow)
        return sum(found.values()) >= count

    try:
        wait_until(enough, timeout, f"{count} events of {workflow}")
    except AssertionError:
        shown = f"{workflow}: {sum(found.values())} of {count} events\n{rf.output()}"
        raise AssertionError(shown) from None
    time.sleep(1.5)  # more than one poll: nothing more may come
    return emails(rf, workflow)


def status(rf: Relayflow, workflow: str) -> dict[str, Any]:
    with rf.api() as api:
        answer = api.get(f"/workflows/{workflow}/polling")
        assert answer.status_code == 200, answer.text
        return answer.json()
