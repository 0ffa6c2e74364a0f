"""Testing workflows and looking at runs: test, runs, inspect, replay, cancel, resume."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.panel import Panel

from relayflow.cli.app import _config, _database, _with_runtime, app
from relayflow.cli.run_list import revision as _revision
from relayflow.cli.run_list import run_lines
from relayflow.console import AsJson, Home, console, fail, print_json

if TYPE_CHECKING:
    from relayflow.runtime import Runtime


def _read_event(source: str, workflow_path: str | None) -> dict[str, Any]:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{source}: the test event is not valid JSON: {exc}")
    if isinstance(data, dict) and ("body" in data or "method" in data):
        return data
    return {
        "method": "POST",
        "path": f"/{workflow_path or ''}",
        "query": {},
        "headers": {"content-type": "application/json"},
        "body": data,
        "client_ip": "127.0.0.1",
        "url": f"test:/hooks/{workflow_path or ''}",
    }


@app.command(rich_help_panel="Test and inspect runs")
def test(
    name: Annotated[str, typer.Argument(help="A deployed workflow, or a workflow file (a draft)")],
    event: Annotated[
        str, typer.Option("--event", help="JSON file (or - for stdin): a full event, or a body")
    ] = "",
    until: Annotated[str | None, typer.Option(help="Stop after this step")] = None,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Run a workflow once on a test event and print every step; exit 1 if a step fails.

    Given a file, it is tested as a draft: stored, but not deployed (drafts are numbered
    apart from versions, which only deploys make)."""
    from relayflow.store import history
    from relayflow.workflows import InvalidWorkflow, Workflows

    config = _config(home)
    db = _database(config)
    workflows = Workflows(db)
    key = None
    if Path(name).is_file():
        try:
            loaded = workflows.load_file(Path(name))
        except InvalidWorkflow as exc:
            for problem in exc.problems:
                sys.stderr.write(f"{problem}\n")
            fail("the workflow file has problems; nothing was run")
        key = workflows.store_draft(loaded.workflow, loaded.source).key
        name = loaded.workflow.name
    row = workflows.find(name)
    if row is None:
        fail(f"no workflow named {name!r}; deploy it, or pass its file to test it as a draft")
    if key is None and not row.current_version:
        fail(f"{name} has only drafts; pass its file to test it")
    payload = _read_event(event, row.http_path) if event else {}

    async def work(runtime: Runtime) -> str:
        return await runtime.run_now(row, payload, version=key, stop_after=until)

    run_id = _with_runtime(config, work)
    found = history.get_run(db, run_id)
    if as_json:
        print_json(found)
    else:
        _show_run(found)
    if found["status"] == "failed":
        raise typer.Exit(1)


@app.command(rich_help_panel="Test and inspect runs")
def runs(
    name: Annotated[str | None, typer.Argument(help="Only this workflow's runs")] = None,
    status: Annotated[
        str | None, typer.Option(help="queued|running|succeeded|failed|exited")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 20,
    search: Annotated[str, typer.Option(help="Only runs whose event contains this text")] = "",
    since: Annotated[str | None, typer.Option(help="1h, 24h, 7d or 30d")] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="live (events that came in) or test runs")
    ] = None,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Recent runs, newest first: a short id that inspect and replay take, and the error of
    a failed run on the line below it. Test runs are marked `test`."""
    from relayflow.store import history
    from relayflow.store.workflows import get_workflow

    if kind not in (None, "live", "test"):
        fail(f"--kind is live or test, not {kind!r}")
    db = _database(_config(home))
    workflow_id = None
    if name:
        row = get_workflow(db, name)
        if row is None:
            fail(f"no workflow named {name!r}")
        workflow_id = row.id
    test = None if kind is None else kind == "test"
    found = history.list_runs(db, workflow_id, status, limit, q=search, since=since, test=test)
    short = history.short_ids(db, [run["id"] for run in found])
    if as_json:
        print_json([{**run, "short_id": short[run["id"]]} for run in found])
        return
    if not found:
        console.print("no runs")
        return
    for line in run_lines(found, short, console.width):
        console.print(line, no_wrap=True, overflow="ellipsis")


def _status(status: str) -> str:
    colour = {"succeeded": "green", "failed": "red", "running": "cyan", "queued": "yellow"}
    return f"[{colour.get(status, 'white')}]{status}[/]"


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)


def _show_run(run: dict[str, Any]) -> None:
    took = f"{(run['finished_at'] - run['created_at']) * 1000:.1f} ms" if run["finished_at"] else ""
    console.print(
        f"run [bold]{run['id']}[/] of {run['workflow']} {_revision(run)}: "
        f"{_status(run['status'])} {took}"
        + (" [magenta]test[/]" if run["test"] else "")
        + (f" (replay of {run['replay_of']})" if run["replay_of"] else "")
    )
    if run["error"]:
        console.print(f"[red]{run['error']}[/]", markup=True, highlight=False)
    console.print(Panel(_dump(run["event"]), title="trigger event", expand=False), markup=False)
    for step in run["steps"]:
        parts = [f"inputs: {_dump(step['inputs'])}"]
        if step["status"] == "succeeded":
            parts.append(f"return value: {_dump(step['return_value'])}")
        if step["exports"]:
            parts.append(f"exports: {_dump(step['exports'])}")
        if step["logs"]:
            parts.append("logs:\n" + "\n".join(step["logs"]))
        if step["error"]:
            parts.append(f"error: {step['error'].get('name')}: {step['error'].get('message')}")
            if step["error"].get("details") is not None:
                parts.append(f"details: {_dump(step['error']['details'])}")
        title = (
            f"{step['step_index'] + 1}. {step['step_name']} — {step['status']}, "
            f"attempt {step['attempts']}, {step['duration_ms']:.2f} ms"
        )
        style = "red" if step["status"] == "failed" else "green"
        console.print(
            Panel("\n".join(parts), title=title, border_style=style, expand=False),
            markup=False,
            highlight=False,
        )


def _run_id(db: Any, given: str) -> str:
    """The full id of the run `given` names (an id, or the start of one)."""
    from relayflow.store import history

    try:
        return history.resolve_run_id(db, given)
    except history.UnknownRun as exc:
        fail(exc.message)


@app.command(rich_help_panel="Test and inspect runs")
def inspect(
    run_id: Annotated[str, typer.Argument(help="The run's id, or its start (relayflow runs)")],
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Everything about one run: the event, and per step inputs, result, logs, error, timing."""
    from relayflow.store import history

    db = _database(_config(home))
    found = history.get_run(db, _run_id(db, run_id))
    if found is None:
        fail(f"no run {run_id}; see relayflow runs")
    if as_json:
        print_json(found)
    else:
        _show_run(found)


@app.command(rich_help_panel="Test and inspect runs")
def replay(
    run_id: Annotated[str, typer.Argument(help="The run's id, or its start (relayflow runs)")],
    version: Annotated[int | None, typer.Option(help="Workflow version [default: current]")] = None,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Queue the event of RUN_ID again as a new run (picked up by a running worker)."""
    config = _config(home)
    run_id = _run_id(_database(config), run_id)

    async def work(runtime: Runtime):
        return await runtime.replay(run_id, version)

    try:
        new = _with_runtime(config, work)
    except KeyError as exc:
        fail(str(exc.args[0]))
    if as_json:
        print_json({"run_id": new.run_id, "version": new.version, "replay_of": run_id})
    else:
        console.print(f"queued run {new.run_id} (v{new.version}) replaying {run_id}")


def _control(run_id: str, action: str, home: Path | None) -> None:
    run_id = _run_id(_database(_config(home)), run_id)

    async def work(runtime: Runtime) -> bool:
        return await runtime.control(run_id, action)

    if not _with_runtime(_config(home), work):
        fail(f"run {run_id} is not waiting (queued or sleeping), so it cannot be {action}d")
    console.print(f"run {run_id}: {action}d")


@app.command(rich_help_panel="Test and inspect runs")
def cancel(run_id: str, home: Home = None) -> None:
    """Cancel a queued or sleeping run (e.g. one waiting in a delay)."""
    _control(run_id, "cancel", home)


@app.command(rich_help_panel="Test and inspect runs")
def resume(run_id: str, home: Home = None) -> None:
    """Wake a sleeping run now instead of at the end of its delay."""
    _control(run_id, "resume", home)
