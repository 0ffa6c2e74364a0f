"""Tests run drafts, which are numbered apart from versions: only a deploy makes a version,
and drafts an earlier relayflow stored as versions become drafts when the database is
upgraded, their test runs with them."""

from __future__ import annotations

import time

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine

from relayflow.ids import new_id
from relayflow.store.database import MIGRATIONS, Database
from relayflow.workflows import Workflows

SOURCE = """\
name: counted
trigger: {http: {path: counted}}
steps:
  - {name: say, uses: util.echo, with: {value: "%s"}}
"""


def test_four_tests_then_a_deploy_make_version_1_and_four_drafts(database_url: str) -> None:
    db = Database(database_url)
    db.upgrade()
    workflows = Workflows(db)
    drafted = [workflows.draft(SOURCE % n, "counted") for n in range(4)]
    assert [d.draft for d in drafted] == [1, 2, 3, 4]
    assert workflows.draft(SOURCE % 3, "counted").draft == 4  # the same again: no new draft
    assert workflows.get("counted").current_version == 0

    deployed = workflows.deploy_source(SOURCE % "live")
    assert deployed.version == 1 and deployed.changed
    assert [v["version"] for v in workflows.versions("counted")] == [1]
    assert [d["draft"] for d in workflows.drafts("counted")] == [4, 3, 2, 1]
    # Testing what is deployed runs the deployed version; a change is draft 5.
    assert workflows.draft(SOURCE % "live", "counted").key == 1
    assert workflows.draft(SOURCE % "next", "counted").draft == 5
    # Deploying a tested draft makes it version 2; drafts are never rolled back to.
    assert workflows.deploy_source(SOURCE % 2).version == 2
    assert workflows.version("counted", 2)[0] == workflows.draft_version("counted", 3)[0]


def _old_database(url: str) -> Database:
    """A database as relayflow left it before drafts (0007: drafts stored as versions)."""
    db = Database(url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(db.sqlalchemy_url())
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    engine.dispose()
    return db


def _add(db: Database, workflow_id: str, version: int, value: str) -> None:
    definition = (
        '{"name": "old", "trigger": {"http": {"path": "old"}}, "steps": [{"name": "say",'
        f' "uses": "util.echo", "with": {{"value": "{value}"}}}}]}}'
    )
    db.execute(
        "INSERT INTO workflow_versions (workflow_id, version, definition, source, created_at)"
        " VALUES (?, ?, ?, NULL, ?)",
        (workflow_id, version, definition, time.time()),
    )


def _run(db: Database, workflow_id: str, version: int, test: bool) -> str:
    run_id = new_id()
    db.execute(
        "INSERT INTO runs (id, event_id, workflow_id, version, status, created_at,"
        " available_at, next_step, claims, test) VALUES (?, ?, ?, ?, 'succeeded', ?, ?, 1, 1, ?)",
        (run_id, new_id(), workflow_id, version, time.time(), time.time(), int(test)),
    )
    return run_id


def test_upgrading_turns_versions_that_never_ran_live_into_drafts(database_url: str) -> None:
    db = _old_database(database_url)
    # Four tests (v1-v4, test runs only), then a deploy (v5) that got a live run.
    db.execute(
        "INSERT INTO workflows (id, name, active, current_version, concurrency, created_at,"
        " updated_at) VALUES ('w1', 'old', 1, 5, 10, 0, 0)"
    )
    tests = []
    for version in range(1, 6):
        _add(db, "w1", version, f"try {version}")
        tests.append(_run(db, "w1", version, test=True))
    live = _run(db, "w1", 5, test=False)
    # A workflow only ever tested: all its versions were drafts.
    db.execute(
        "INSERT INTO workflows (id, name, active, current_version, concurrency, created_at,"
        " updated_at) VALUES ('w2', 'untested-yet', 1, 0, 10, 0, 0)"
    )
    _add(db, "w2", 1, "only draft")

    db.upgrade()
    workflows = Workflows(db)
    assert [v["version"] for v in workflows.versions("old")] == [5]
    assert [d["draft"] for d in workflows.drafts("old")] == [4, 3, 2, 1]
    assert workflows.draft_version("old", 2)[0].steps[0].with_ == {"value": "try 2"}
    assert workflows.version("old", 5)[0].steps[0].with_ == {"value": "try 5"}
    found = {r[0]: r[1] for r in db.fetchall("SELECT id, version FROM runs")}
    assert [found[run_id] for run_id in tests] == [-1, -2, -3, -4, 5]
    assert found[live] == 5
    assert workflows.shown_key("untested-yet") == -1
    # The next deploy continues after the versions that stayed; the next test is draft 5.
    assert workflows.deploy_source(SOURCE.replace("counted", "old") % "six").version == 6
    assert workflows.draft(SOURCE.replace("counted", "old") % "seven", "old").draft == 5
