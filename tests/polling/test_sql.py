"""sql.new_rows against a real database (an SQLite file beside an SQLite installation, a
PostgreSQL table beside a PostgreSQL one): rows inserted while relayflow runs, once each,
by an id or a timestamp column; a database that fails is shown on the workflow."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa

from conftest import Relayflow

from .helpers import events_of, status, wait_emitted, wait_until

WORKFLOW = """\
name: {name}
trigger:
  source:
    uses: sql.new_rows
    account: {account}
    every: 1s
    backfill: {backfill}
    with: {{table: {table}, column: {column}}}
steps:
  - name: note
    uses: util.echo
    with: {{value: "{{{{ steps.trigger.event.row.email }}}}"}}
"""


def deploy(rf: Relayflow, name: str, account: str, table: str, column: str, backfill) -> None:
    text = WORKFLOW.format(
        name=name, account=account, table=table, column=column, backfill=backfill
    )
    rf.deploy_text(name, text)


def source_database(rf: Relayflow, tmp_path: Path) -> str:
    if rf.database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'app.db'}"
    return rf.database_url.replace("postgresql://", "postgresql+psycopg://")


def insert(url: str, table: str, rows: list[dict]) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO {table} (email, created_at) VALUES (:email, :at)"), rows)
    engine.dispose()


def test_rows_inserted_while_running_are_emitted_once(installation: Relayflow, tmp_path: Path):
    rf = installation
    url = source_database(rf, tmp_path)
    table = f"signups_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        serial = "INTEGER PRIMARY KEY" if url.startswith("sqlite") else "SERIAL PRIMARY KEY"
        conn.execute(sa.text(f"CREATE TABLE {table} (id {serial}, email TEXT, created_at TEXT)"))
    engine.dispose()
    insert(url, table, [{"email": f"old{n}@example.com", "at": f"2026-01-0{n}"} for n in (1, 2, 3)])
    rf.cli("accounts", "add", "sql", f"db-{table}", "--url", url)
    deploy(rf, "sql-ids", f"db-{table}", table, "id", backfill=2)
    deploy(rf, "sql-times", f"db-{table}", table, "created_at", backfill="none")

    def by_email(workflow: str, count: int) -> list[str]:
        wait_emitted_rows(rf, workflow, count)
        return [e["row"]["email"] for e in events_of(rf, workflow)]

    assert by_email("sql-ids", 2) == ["old2@example.com", "old3@example.com"]
    wait_until(lambda: status(rf, "sql-times")["last_ok_at"], 20, "the first poll")
    fresh = [{"email": f"new{n}@example.com", "at": f"2026-02-0{n}"} for n in range(1, 6)]
    insert(url, table, fresh[:2])
    insert(url, table, fresh[2:])
    new = [row["email"] for row in fresh]
    assert by_email("sql-ids", 7) == ["old2@example.com", "old3@example.com", *new]
    assert by_email("sql-times", 5) == new
    event = events_of(rf, "sql-ids")[-1]
    assert event["row"]["id"] == 8 and event["newRow"][1] == "new5@example.com"
    assert status(rf, "sql-ids")["cursor"]["cursor"] == 8


def test_a_database_that_fails_is_shown_on_the_workflow(installation: Relayflow, tmp_path: Path):
    rf = installation
    url = source_database(rf, tmp_path)
    rf.cli("accounts", "add", "sql", "db-broken", "--url", url)
    deploy(rf, "sql-broken", "db-broken", "no_such_table", "id", backfill="all")
    found = wait_until(lambda: (s := status(rf, "sql-broken"))["failures"] and s, 20, "a failure")
    assert found["state"] == "failing"
    assert found["last_error"].startswith("the database answered: ")
    assert "no_such_table" in found["last_error"]


def wait_emitted_rows(rf: Relayflow, workflow: str, count: int) -> None:
    wait_until(lambda: len(events_of(rf, workflow)) >= count, 30, f"{count} rows of {workflow}")
    wait_emitted(rf, workflow, 0)  # and no more than that after another poll
    assert len(events_of(rf, workflow)) == count, events_of(rf, workflow)
