"""Deploying and managing workflows, the action library and the database."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from relayflow.cli.app import _config, _database, app, db_app, workflows_app
from relayflow.console import AsJson, Home, console, fail, print_json, when


@app.command(rich_help_panel="Workflows")
def deploy(
    paths: Annotated[list[Path], typer.Argument(help="Workflow files or folders of them")],
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Validate and deploy workflow files; nothing is deployed if any file has a problem."""
    from relayflow.model.loader import WorkflowFileError, load_paths
    from relayflow.store.workflows import DeployError
    from relayflow.store.workflows import deploy as deploy_workflow

    try:
        loaded = load_paths(paths)
    except WorkflowFileError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        count = len(exc.problems)
        fail(f"{count} problem{'s' if count != 1 else ''} found; nothing was deployed")
    if not loaded:
        fail("no workflow files (*.yaml, *.yml) found in " + ", ".join(map(str, paths)))
    db = _database(_config(home))
    results = []
    for item in loaded:
        try:
            results.append((item, deploy_workflow(db, item.workflow, item.source)))
        except DeployError as exc:
            fail(str(exc))
    if as_json:
        print_json(
            [
                {"name": r.name, "version": r.version, "changed": r.changed, "file": i.file}
                for i, r in results
            ]
        )
        return
    table = Table("workflow", "version", "", "trigger", "file")
    for item, result in results:
        trig = item.workflow.trigger
        where = f"/hooks/{trig.http.path}" if trig.http else trig.kind
        state = "[green]deployed[/]" if result.changed else "[dim]unchanged[/]"
        table.add_row(result.name, f"v{result.version}", state, where, item.file)
    console.print(table)


@workflows_app.command("list")
def workflows_list(home: Home = None, as_json: AsJson = False) -> None:
    """All workflows with their state, version and trigger."""
    from relayflow.server.api import workflow_summary
    from relayflow.store.workflows import list_workflows

    rows = list_workflows(_database(_config(home)))
    if as_json:
        print_json([workflow_summary(r) for r in rows])
        return
    table = Table("name", "state", "version", "trigger", "updated")
    for row in rows:
        state = "[green]active[/]" if row.active else "[yellow]paused[/]"
        trig = f"/hooks/{row.http_path}" if row.http_path else "schedule/manual"
        table.add_row(row.name, state, f"v{row.current_version}", trig, when(row.updated_at))
    console.print(table if rows else "no workflows yet: relayflow deploy examples/")


@workflows_app.command("show")
def workflows_show(name: str, home: Home = None, as_json: AsJson = False) -> None:
    """A workflow's current definition and its versions."""
    from relayflow.store.workflows import get_version, get_workflow, list_versions

    db = _database(_config(home))
    row = get_workflow(db, name)
    if row is None:
        fail(f"no workflow named {name!r}; see relayflow workflows list")
    versions = list_versions(db, row.id)
    definition, source = get_version(db, row.id, row.current_version or versions[0]["version"])
    if as_json:
        print_json(
            {
                "name": row.name,
                "active": row.active,
                "version": row.current_version,
                "definition": definition.model_dump(mode="json", by_alias=True),
                "versions": versions,
            }
        )
        return
    state = "active" if row.active else "paused"
    console.print(f"[bold]{row.name}[/] v{row.current_version} ({state}), {len(versions)} versions")
    console.print(
        source or json.dumps(definition.model_dump(mode="json", by_alias=True), indent=2),
        markup=False,
        highlight=False,
    )


def _set_active(name: str, home: Path | None, active: bool) -> None:
    from relayflow.store.workflows import set_active

    try:
        row = set_active(_database(_config(home)), name, active)
    except KeyError:
        fail(f"no workflow named {name!r}; see relayflow workflows list")
    console.print(f"{row.name} is now {'active' if row.active else 'paused'}")


@workflows_app.command("rollback")
def workflows_rollback(name: str, version: int, home: Home = None) -> None:
    """Make an earlier version the one that runs (a running server switches within a second)."""
    from relayflow.store.workflows import DeployError, rollback

    try:
        row = rollback(_database(_config(home)), name, version)
    except (KeyError, DeployError) as exc:
        fail(str(exc.args[0]) if isinstance(exc, KeyError) else str(exc))
    console.print(f"{row.name} now runs v{row.current_version}")


@workflows_app.command("delete")
def workflows_delete(
    name: str,
    home: Home = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete a workflow with all its versions, events and runs."""
    from relayflow.store.workflows import delete_workflow, get_workflow

    db = _database(_config(home))
    row = get_workflow(db, name)
    if row is None:
        fail(f"no workflow named {name!r}; see relayflow workflows list")
    if not yes and not typer.confirm(f"Delete {name} with all its runs?"):
        raise typer.Exit(1)
    delete_workflow(db, row.id)
    console.print(f"deleted {name}")


@workflows_app.command("pause")
def workflows_pause(name: str, home: Home = None) -> None:
    """Stop accepting events (webhooks answer 404; schedules stop firing)."""
    _set_active(name, home, False)


@workflows_app.command("activate")
def workflows_activate(name: str, home: Home = None) -> None:
    """Accept events again."""
    _set_active(name, home, True)


@app.command(rich_help_panel="Workflows")
def actions(
    query: Annotated[str, typer.Argument(help="Search words, e.g. clevertap")] = "",
    as_json: AsJson = False,
) -> None:
    """The action library: every step you can `uses:`."""
    from relayflow.engine.actions import discover, search

    found = search(query) if query else sorted(discover().values(), key=lambda a: a.key)
    if as_json:
        print_json([a.schema() for a in found])
        return
    table = Table("uses", "title", "inputs")
    for act in found:
        fields = act.inputs.model_fields
        names = [(f.alias or n) + ("" if f.is_required() else "?") for n, f in fields.items()]
        table.add_row(act.key, act.title, ", ".join(names))
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(home: Home = None) -> None:
    """Apply database migrations (also done automatically at start)."""
    config = _config(home)
    started = time.perf_counter()
    _database(config)
    console.print(f"database is up to date ({time.perf_counter() - started:.2f}s)")
