"""One owner for the workflow lifecycle: deploys are served at once, versions compare and
export the same through the API and the CLI, and the API has what the UI has."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from conftest import Relayflow

ECHO = """\
name: {name}
# a comment that the export keeps
trigger:
  http:
    path: {path}
steps:
  - name: shape
    uses: util.echo
    with:
      value: "{value}"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Relayflow:
    home = tmp_path_factory.mktemp("lifecycle") / "home"
    home.mkdir()
    installation = Relayflow(home, f"sqlite:///{home / 'relayflow.db'}")
    installation.start()
    yield installation
    installation.stop_all()


def test_a_webhook_right_after_a_deploy_through_the_api_is_served(server: Relayflow) -> None:
    with server.api() as api:
        for n in range(15):
            source = ECHO.format(name=f"fresh-{n}", path=f"fresh/{n}", value=n)
            deployed = api.post("/workflows", content=source)
            assert deployed.status_code == 200, deployed.text
            hook = httpx.post(f"{server.url}/hooks/fresh/{n}", json={})
            assert hook.status_code == 200, (n, hook.text)


def test_versions_compare_and_export_the_same_through_api_and_cli(
    server: Relayflow, tmp_path: Path
) -> None:
    with server.api() as api:
        api.post("/workflows", content=ECHO.format(name="shapes", path="shapes", value="one"))
        api.post("/workflows", content=ECHO.format(name="shapes", path="shapes", value="two"))
        diff = api.get("/workflows/shapes/diff", params={"a": 1, "b": 2}).json()
        assert diff["changed"] is True
        assert "-    value: one" in diff["lines"] and "+    value: two" in diff["lines"]
        same = api.get("/workflows/shapes/diff", params={"a": 2, "b": 2}).json()
        assert same == {"name": "shapes", "a": 2, "b": 2, "changed": False, "lines": []}
        missing = api.get("/workflows/shapes/diff", params={"a": 1, "b": 9})
        assert missing.status_code == 404 and "no version 9" in missing.json()["detail"]
        exported = api.get("/workflows/shapes/export").json()
        assert (
            exported["version"] == 2 and "# a comment that the export keeps" in exported["source"]
        )

    cli_diff = server.cli("workflows", "diff", "shapes", "1", "2").stdout
    assert "-    value: one" in cli_diff and "+    value: two" in cli_diff
    folder = tmp_path / "exported"
    server.cli("workflows", "export", "--all", str(folder))
    assert (folder / "shapes.yaml").read_text() == exported["source"]
    back = json.loads(server.cli("deploy", str(folder), "--json").stdout)
    assert {item["name"]: item["changed"] for item in back}["shapes"] is False


def test_the_api_has_the_stats_and_schedule_preview_the_ui_shows(server: Relayflow) -> None:
    with server.api() as api:
        api.post("/workflows", content=ECHO.format(name="counted", path="counted", value="x"))
        httpx.post(f"{server.url}/hooks/counted", json={})
        server.wait_runs(1, workflow="counted")
        stats = api.get("/workflows/counted/stats").json()
        assert stats["runs_24h"] == 1 and stats["errors_24h"] == 0
        assert stats["last_run"]["status"] == "succeeded"
        preview = api.get(
            "/schedule-preview", params={"cron": "0 9 * * *", "timezone": "Europe/Berlin"}
        ).json()
        assert len(preview["times"]) == 5
        assert all(t.endswith(("+01:00", "+02:00")) and "T09:00:00" in t for t in preview["times"])
        bad = api.get("/schedule-preview", params={"cron": "every day"})
        assert bad.status_code == 422 and "not a cron expression" in bad.json()["detail"]


def test_users_are_managed_through_the_api(server: Relayflow) -> None:
    with server.api() as api:
        added = api.post("/users", json={"name": "ann", "password": "correct horse battery"})
        assert added.status_code == 201 and added.json()["name"] == "ann"
        assert api.post("/users", json={"name": "ann", "password": "x" * 12}).status_code == 409
        short = api.post("/users", json={"name": "bob", "password": "short"})
        assert short.status_code == 422
        assert "ann" in [u["name"] for u in api.get("/users").json()]
        changed = api.post("/users/ann/password", json={"password": "another good one"})
        assert changed.status_code == 200
        assert api.delete("/users/nobody").status_code == 404
        last = api.delete("/users/ann")
        assert last.status_code == 409 and "only user" in last.json()["detail"]
        api.post("/users", json={"name": "bob", "password": "correct horse battery"})
        assert api.delete("/users/ann").json() == {"removed": "ann"}


def test_definitions_stored_by_an_earlier_relayflow_still_load_and_deduplicate(
    server: Relayflow, tmp_path: Path
) -> None:
    source = ECHO.format(name="legacy", path="legacy", value="old")
    server.deploy_text("legacy", source)
    # Earlier versions stored every step with every kind's field, most of them null.
    legacy_step = {
        "name": "shape",
        "uses": "util.echo",
        "code": None,
        "code_file": None,
        "account": None,
        "accounts": {},
        "with": {"value": "old"},
        "retries": None,
        "timeout": None,
        "filter": None,
        "if": None,
        "then": None,
        "else": None,
        "switch": None,
        "cases": None,
        "default": None,
        "delay": None,
        "end": None,
    }
    with sqlite3.connect(server.home / "relayflow.db") as db:
        (text,) = db.execute(
            "SELECT v.definition FROM workflow_versions v JOIN workflows w"
            " ON w.id = v.workflow_id WHERE w.name = 'legacy'"
        ).fetchone()
        definition = json.loads(text)
        definition["steps"] = [legacy_step]
        db.execute(
            "UPDATE workflow_versions SET definition = ? WHERE workflow_id ="
            " (SELECT id FROM workflows WHERE name = 'legacy')",
            (json.dumps(definition),),
        )
    redeployed = json.loads(server.cli("deploy", str(server.home / "legacy.yaml"), "--json").stdout)
    assert redeployed[0]["changed"] is False and redeployed[0]["version"] == 1
    with server.api() as api:
        shown = api.get("/workflows/legacy").json()
    assert shown["definition"]["steps"][0]["uses"] == "util.echo"
    hook = httpx.post(f"{server.url}/hooks/legacy", json={})
    assert hook.status_code == 200
