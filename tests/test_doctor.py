"""`relayflow doctor`: the code-step sandbox, the database, its migrations, home permissions.

The checks run in-process on a real home and database; one test runs the command itself.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from relayflow.cli.doctor import code_steps, database, home_permissions, node_steps
from relayflow.config import Config
from relayflow.store.database import Database


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    for name in ("RELAYFLOW_BWRAP", "RELAYFLOW_UNSAFE_CODE_STEPS", "RELAYFLOW_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return Config.load(tmp_path / "home")


def test_a_healthy_installation_passes(sqlite_relayflow) -> None:
    rf = sqlite_relayflow
    rf.home.chmod(0o700)
    rf.cli("db", "upgrade")
    done = rf.cli("doctor", "--json")
    found = {c["name"]: c for c in json.loads(done.stdout)}
    assert [c["status"] for c in found.values()] == ["ok"] * 6, found
    assert found["egress policy"]["detail"].startswith("steps may not connect to 169.254.0.0/16")
    assert found["code-step sandbox"]["detail"].startswith("isolated with bubblewrap")
    assert found["Node.js code steps"]["detail"].startswith("node v")
    assert found["database"]["detail"].endswith("relayflow.db answers")
    assert found["migrations"]["detail"].startswith("schema is current")


def test_a_missing_bubblewrap_fails_with_the_fix_unless_opted_out(config, monkeypatch) -> None:
    config.bwrap = "/nonexistent/bwrap"
    refused = code_steps(config)
    assert refused.status == "fail"
    assert "apt-get install bubblewrap" in refused.detail
    assert "RELAYFLOW_UNSAFE_CODE_STEPS=1" in refused.detail
    config.unsafe_code_steps = True
    allowed = code_steps(config)
    assert allowed.status == "warn" and "run WITHOUT isolation" in allowed.detail


def test_a_missing_node_is_a_warning_with_the_fix(monkeypatch) -> None:
    monkeypatch.setenv("RELAYFLOW_NODE", "/nonexistent/node")
    found = node_steps()
    assert found.status == "warn"
    assert "apt-get install nodejs" in found.detail and "/nonexistent/node" in found.detail


def test_the_command_exits_1_on_a_failed_check(config, monkeypatch) -> None:
    from typer.testing import CliRunner

    from relayflow.cli import app

    monkeypatch.setenv("RELAYFLOW_BWRAP", "/nonexistent/bwrap")
    result = CliRunner().invoke(app, ["doctor", "--home", str(config.home)])
    assert result.exit_code == 1
    assert "code-step sandbox" in result.output and "FAILED" in result.output


def test_database_and_migrations_are_checked_without_creating_anything(config) -> None:
    (missing,) = database(config)
    assert missing.status == "warn" and "relayflow db upgrade" in missing.detail
    assert not (config.home / "relayflow.db").exists()
    Database(config.database_url).upgrade()
    with sqlite3.connect(config.home / "relayflow.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    reachable, migrations = database(config)
    assert reachable.status == "ok"
    assert migrations.status == "fail"
    assert "schema is at 0001" in migrations.detail and "relayflow db upgrade" in migrations.detail
    config.database_url = "postgresql://postgres@127.0.0.1:9/relayflow"
    (unreachable,) = database(config)
    assert unreachable.status == "fail"
    assert "postgresql at 127.0.0.1:9/relayflow does not answer" in unreachable.detail


def test_a_home_or_key_file_others_can_read_is_named_with_its_fix(config) -> None:
    assert home_permissions(config).status == "ok"  # a new home is made mode 0700
    config.home.chmod(0o755)
    opened = home_permissions(config)
    assert opened.status == "warn" and f"chmod 700 {config.home}" in opened.detail
    key = config.home / "secret.key"
    key.write_text("k")
    key.chmod(0o644)
    leaked = home_permissions(config)
    assert leaked.status == "fail" and f"chmod 600 {key}" in leaked.detail
    key.chmod(0o600)
    config.home.chmod(0o700)
    database = config.home / "relayflow.db"  # e.g. made 0644 before relayflow made it 0600
    database.write_bytes(b"")
    database.chmod(0o644)
    shared = home_permissions(config)
    assert shared.status == "fail" and f"chmod 600 {database}" in shared.detail


SENDS = """\
name: {name}
trigger: {{http: {{path: {name}}}}}
steps:
  - name: welcome
    uses: clevertap.send_message
    account: ct
    with:
      campaign_id: 1000001
      identities: "{{{{ steps.trigger.event.body.user_id }}}}"
      key_values: {key_values}
"""


def test_clevertap_sends_that_cannot_share_a_request_are_named_with_the_fix(
    config, tmp_path: Path
) -> None:
    from relayflow.accounts.store import AccountStore
    from relayflow.cli.doctor import account_advice
    from relayflow.workflows import Workflows

    db = Database(config.database_url)
    db.upgrade()
    accounts = AccountStore(db, config)
    fields = {"account_id": "TEST-1", "passcode": "sandbox-passcode"}
    fields["endpoint"] = "http://127.0.0.1:9"
    accounts.add("clevertap", "ct", fields)
    folder = tmp_path / "flows"
    folder.mkdir()
    personal = '{Name: "{{ steps.trigger.event.body.name }}"}'
    (folder / "a.yaml").write_text(SENDS.format(name="signup", key_values=personal))
    (folder / "b.yaml").write_text(SENDS.format(name="promo", key_values="{Offer: SPRING}"))
    workflows = Workflows(db)
    workflows.deploy(workflows.load([folder]))

    (advice,) = account_advice(config)
    assert advice.status == "warn" and advice.name == "CleverTap account ct"
    # The personalised send is named; the one whose key-values are the same for all is not.
    assert advice.detail.startswith("signup: welcome personalises each message's key_values")
    assert "promo" not in advice.detail
    assert "every message is its own request, 15 at once" in advice.detail
    assert "--token TOKEN" in advice.detail

    accounts.add("clevertap", "ct", {**fields, "token": "t0ken-value"}, replace=True)
    assert account_advice(config) == []


def test_a_current_schema_is_seen_without_alembic_and_an_old_one_is_not(config) -> None:
    """Every command opens the database: when it is at the newest migration already the
    upgrade returns without alembic; the newest revision read from the migration files is
    alembic's own head."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from relayflow.store.database import MIGRATIONS, newest_revision

    alembic = AlembicConfig()
    alembic.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(alembic).get_current_head()
    assert newest_revision() == head
    db = Database(config.database_url)
    db.upgrade()
    assert db.migration_state() == (head, head) and db._schema_is_current()
    with sqlite3.connect(config.home / "relayflow.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0010'")
    assert not db._schema_is_current()  # behind: the upgrade goes through alembic
