"""`relayflow stores …` on an installation's database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relayflow.datastores.cli import app


@pytest.fixture
def stores_cli(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RELAYFLOW_DATABASE_URL", database_url)
    home = tmp_path / "home"
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, "--home", str(home)])
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_set_get_keys_incr_delete_and_clear(stores_cli) -> None:
    stores_cli("set", "users", "u1", '{"name": "Ada"}')
    stores_cli("set", "users", "u2", "plain text")
    stores_cli("set", "users", "n", "42", "--text")
    stores_cli("set", "users", "session", "1", "--ttl", "60")
    assert json.loads(stores_cli("get", "users", "u1")) == {"name": "Ada"}
    assert json.loads(stores_cli("get", "users", "u2")) == "plain text"
    assert json.loads(stores_cli("get", "users", "n")) == "42"
    entry = json.loads(stores_cli("get", "users", "session", "--json"))
    assert entry["value"] == 1 and entry["expires_at"] is not None
    keys = json.loads(stores_cli("keys", "users", "--prefix", "u", "--json"))
    assert [k["key"] for k in keys] == ["u1", "u2"]
    assert "Ada" in stores_cli("keys", "users", "--values")
    assert stores_cli("incr", "counters", "hits").strip() == "1"
    assert stores_cli("incr", "counters", "hits", "--by", "-3").strip() == "-2"
    listed = json.loads(stores_cli("list", "--json"))
    assert [(s["name"], s["keys"]) for s in listed] == [("counters", 1), ("users", 4)]
    assert "deleted users/u1" in stores_cli("delete", "users", "u1")
    assert "has no key 'u1'" in stores_cli("get", "users", "u1", code=1)
    assert "add --yes" in stores_cli("clear", "users", code=1)
    assert "removed 3 keys" in stores_cli("clear", "users", "--yes")


def test_refusals_exit_1_with_the_reason(stores_cli) -> None:
    stores_cli("set", "s", "name", "Ada")
    assert "holds a string" in stores_cli("incr", "s", "name", code=1)
    assert "not a data store name" in stores_cli("get", "no such", "k", code=1)
