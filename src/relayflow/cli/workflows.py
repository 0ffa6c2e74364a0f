"""Deploying and managing workflows, the action library and the database.

Every change goes through `relayflow.workflows.Workflows`, as the API's and the UI's do;
a running server serves it within half a second (it polls the deploy epoch).
"""

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
from relayflow.workflows import InvalidWorkflow, WorkflowError, Workflows


def _workflows(home: Path | None) -> Workflows:
    return Workflows(_database(_config(home)))


@app.command(rich_help_panel="Workflows")
def deploy(
    paths: Annotated[list[Path], typer.Argument(help="Workflow files or folders of them")],
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Validate and deploy workflow files; nothing is deployed if any file has a problem.

    Every problem of every file is listed at once, including steps whose `account:` is not
    connected or belongs to another app."""
    workflows = _workflows(home)
    try:
        loaded = workflows.load(paths)
    except InvalidWorkflow as exc:
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        count = len(exc.problems)
        fail(f"{count} problem{'s' if count != 1 else ''} found; nothing was deployed")
    if not loaded:
        fail("no workflow files (*.yaml, *.yml) found in " + ", ".join(map(str, paths)))
    try:
        deployed = workflows.deploy(loaded)
    except WorkflowError as exc:
        fail(exc.message)
    results = list(zip(loaded, deployed, strict=True))
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

    rows = _workflows(home).list()
    if as_json:
        print_json([workflow_summary(r) for r in rows])
        return
    table = Table("name", "state", "version", "trigger", "updated")
    for row in rows:
        state = "[green]active[/]" if row.active else "[yellow]paused[/]"
        if not row.current_version:
            state = "[dim]draft[/]"
        trig = f"/hooks/{row.http_path}" if row.http_path else "schedule/manual"
        version = f"v{row.current_version}" if row.current_version else "not deployed"
        table.add_row(row.name, state, version, trig, when(row.updated_at))
    console.print(table if rows else "no workflows yet: relayflow deploy examples/")


@workflows_app.command("show")
def workflows_show(name: str, home: Home = None, as_json: AsJson = False) -> None:
    """A workflow's deployed definition (else its newest draft's), its versions and drafts."""
    workflows = _workflows(home)
    try:
        row = workflows.get(name)
        versions, drafts = workflows.versions(name), workflows.drafts(name)
        key = workflows.shown_key(name)
        definition, source = workflows.revision(name, key)
    except WorkflowError as exc:
        fail(f"{exc.message}; see relayflow workflows list")
    from relayflow.triggers.polling import polling_status

    polling = polling_status(workflows.db, row.id, definition)
    if as_json:
        print_json(
            {
                "name": row.name,
                "active": row.active,
                "version": row.current_version,
                "draft": -key if key < 0 else None,
                "definition": definition.model_dump(mode="json", by_alias=True),
                "versions": versions,
                "drafts": drafts,
                "polling": polling,
            }
        )
        return
    count = f"{len(versions)} version{'s' * (len(versions) != 1)}"
    if row.current_version:
        state = "active" if row.active else "paused"
        head = f"[bold]{row.name}[/] v{row.current_version} ({state}), {count}"
    else:
        head = f"[bold]{row.name}[/] not deployed yet (showing draft {-key})"
    if drafts:
        newest = drafts[0]["draft"]
        head += f"; drafts (tested, never deployed): {', '.join(str(d['draft']) for d in drafts)}"
        head += f", newest draft {newest}" if len(drafts) > 1 else ""
    console.print(head, highlight=False)
    if polling is not None:
        _show_polling(polling)
    console.print(
        source or json.dumps(definition.model_dump(mode="json", by_alias=True), indent=2),
        markup=False,
        highlight=False,
    )


def _show_polling(found: dict) -> None:
    style = {"ok": "green", "failing": "red"}.get(found["state"], "yellow")
    console.print(
        f"polls {found['source']} every {found['every']:g}s: [{style}]{found['state']}[/],"
        f" last poll {when(found['last_poll_at'])}, next poll {when(found['next_poll_at'])},"
        f" {found['emitted'] or 0} items emitted",
        soft_wrap=True,
    )
    if found["last_error"]:
        console.print(
            f"  last error ({when(found['last_error_at'])}): {found['last_error']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@workflows_app.command("diff")
def workflows_diff(
    name: str,
    a: Annotated[int, typer.Argument(help="The earlier version")],
    b: Annotated[int, typer.Argument(help="The later version")],
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """What changed from version A to version B (unified diff of their YAML)."""
    try:
        lines = _workflows(home).diff(name, a, b)
    except WorkflowError as exc:
        fail(exc.message)
    if as_json:
        print_json({"name": name, "a": a, "b": b, "changed": bool(lines), "lines": lines})
        return
    if not lines:
        console.print(f"versions {a} and {b} of {name} are the same")
        return
    for line in lines:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
        console.print(line, style=style, markup=False, highlight=False)


@workflows_app.command("export")
def workflows_export(
    name: Annotated[str | None, typer.Argument(help="The workflow (or --all)")] = None,
    folder: Annotated[
        Path | None, typer.Argument(help="Write NAME.yaml here; without it, print the YAML")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every workflow, into FOLDER")] = False,
    version: Annotated[int | None, typer.Option(help="Default: the deployed version")] = None,
    home: Home = None,
) -> None:
    """Workflows as YAML files that `relayflow deploy` takes back unchanged."""
    workflows = _workflows(home)
    if every:
        if folder is None and name is not None:  # `export --all DIR`
            folder, name = Path(name), None
        if folder is None or name is not None:
            fail("usage: relayflow workflows export --all FOLDER")
        names = [row.name for row in workflows.list()]
    elif name is None:
        fail("name a workflow, or pass --all FOLDER")
    else:
        names = [name]
    try:
        exported = {n: workflows.export(n, version if not every else None) for n in names}
    except WorkflowError as exc:
        fail(exc.message)
    if folder is None:
        sys.stdout.write(exported[names[0]])
        return
    folder.mkdir(parents=True, exist_ok=True)
    for workflow, text in exported.items():
        (folder / f"{workflow}.yaml").write_text(text, encoding="utf-8")
    console.print(f"exported {len(exported)} workflow{'s' * (len(exported) != 1)} to {folder}")


@workflows_app.command("rollback")
def workflows_rollback(name: str, version: int, home: Home = None) -> None:
    """Make an earlier version the one that runs (a running server switches within a second)."""
    try:
        row = _workflows(home).rollback(name, version)
    except WorkflowError as exc:
        fail(exc.message)
    console.print(f"{row.name} now runs v{row.current_version}")


@workflows_app.command("delete")
def workflows_delete(
    name: str,
    home: Home = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete a workflow with all its versions, events and runs."""
    workflows = _workflows(home)
    try:
        workflows.get(name)
    except WorkflowError as exc:
        fail(f"{exc.message}; see relayflow workflows list")
    if not yes and not typer.confirm(f"Delete {name} with all its runs?"):
        raise typer.Exit(1)
    workflows.delete(name)
    console.print(f"deleted {name}")


@workflows_app.command("pause")
def workflows_pause(name: str, home: Home = None) -> None:
    """Stop accepting events (webhooks answer 404; schedules stop firing)."""
    _set_active(name, home, False)


@workflows_app.command("activate")
def workflows_activate(name: str, home: Home = None) -> None:
    """Accept events again."""
    _set_active(name, home, True)


def _set_active(name: str, home: Path | None, active: bool) -> None:
    workflows = _workflows(home)
    try:
        row = workflows.activate(name) if active else workflows.pause(name)
    except WorkflowError as exc:
        fail(f"{exc.message}; see relayflow workflows list")
    console.print(f"{row.name} is now {'active' if row.active else 'paused'}")


@app.command(rich_help_panel="Workflows")
def actions(
    query: Annotated[str, typer.Argument(help="Search words, e.g. clevertap")] = "",
    as_json: AsJson = False,
) -> None:
    """The action library: every step you can `uses:`."""
    from relayflow.sdk import discover

    found = discover().search_actions(query)
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
