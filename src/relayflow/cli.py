"""The `relayflow` command: run the platform, deploy workflows, test, inspect and replay runs.

Every command takes `--home DIR` and works on that installation's database directly, so
`deploy`, `runs` and `inspect` work whether or not `relayflow up` is running.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.panel import Panel
from rich.table import Table

from relayflow.config import DEFAULT_PORT, Config
from relayflow.console import AsJson, Home, console, fail, print_json, when
from relayflow.runtime import Runtime

app = typer.Typer(
    help="relayflow: self-hosted workflow automation with CleverTap built in.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
workflows_app = typer.Typer(help="List, show, pause and activate workflows.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(workflows_app, name="workflows")
app.add_typer(db_app, name="db")

T = TypeVar("T")


def _config(home: Path | None) -> Config:
    return Config.load(home)


def _with_runtime(config: Config, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `work` with a runtime that executes nothing by itself (no worker, no scheduler)."""

    async def main() -> T:
        runtime = Runtime(config, worker=False, scheduler=False)
        await runtime.start()
        try:
            return await work(runtime)
        finally:
            await runtime.stop()

    return asyncio.run(main())


def _database(config: Config):
    from relayflow.store.database import Database

    db = Database(config.database_url)
    db.upgrade()
    return db


# Processes ------------------------------------------------------------------------------


def _serve(runtime: Runtime, host: str, port: int, banner: bool) -> None:
    import uvicorn

    from relayflow.server.app import create_asgi

    if not os.environ.get("RELAYFLOW_PUBLIC_URL"):
        runtime.config.public_url = f"http://{host}:{port}"
    web = create_asgi(runtime)
    if banner:
        token = runtime.config.api_token_file
        console.print(f"[bold green]relayflow[/] is running on http://{host}:{port}")
        console.print(f"  webhooks  http://{host}:{port}/hooks/<path>")
        console.print(f"  API       http://{host}:{port}/api/v1  (docs at /docs; token in {token})")
        console.print(f"  metrics   http://{host}:{port}/metrics")
        console.print(f"  web UI    http://{host}:{port}/")
        from relayflow.users import first_run_message

        sign_in = first_run_message(runtime)
        if sign_in:
            console.print(sign_in, soft_wrap=True, markup=False)
        console.print(f"  home      {runtime.config.home}  database {runtime.db.dialect}")
    uvicorn.run(
        web,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )


@app.command()
def up(
    home: Home = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = DEFAULT_PORT,
    demo: Annotated[
        bool,
        typer.Option(
            help="Also start the CleverTap sandbox, connect a demo account to it and"
            " deploy examples/"
        ),
    ] = False,
    sandbox_port: Annotated[int, typer.Option(help="With --demo: the sandbox's port")] = 8790,
) -> None:
    """Run everything in one process: server, scheduler and workers (embedded SQLite)."""
    config = _config(home)
    if demo:
        _start_demo(config, host, port, sandbox_port)
    _serve(Runtime(config, worker=True, scheduler=True), host, port, banner=True)


def _examples_folder() -> Path | None:
    for candidate in (Path.cwd() / "examples", Path(__file__).resolve().parents[2] / "examples"):
        if candidate.is_dir():
            return candidate
    return None


def _start_demo(config: Config, host: str, port: int, sandbox_port: int) -> None:
    """The first-run experience: sandbox + demo account + example workflows + a curl line."""
    from relayflow.accounts.store import AccountStore
    from relayflow.model.loader import WorkflowFileError, load_paths
    from relayflow.sandbox import SandboxServer
    from relayflow.store.workflows import deploy as deploy_workflow

    sandbox = SandboxServer(port=sandbox_port, db_path=config.home / "sandbox.db").start()
    db = _database(config)
    AccountStore(db, config).add(
        "clevertap",
        "clevertap-demo",
        {"account_id": sandbox.account_id, "passcode": sandbox.passcode, "endpoint": sandbox.url},
        replace=True,
    )
    folder = _examples_folder()
    deployed = []
    if folder is not None:
        try:
            for item in load_paths([folder]):
                deploy_workflow(db, item.workflow, item.source)
                deployed.append(item.workflow.name)
        except WorkflowFileError as exc:
            fail(f"the examples did not validate:\n{exc}")
    console.print(
        f"[bold]demo[/]: CleverTap sandbox at {sandbox.url} (dashboard"
        f" {sandbox.dashboard_url}), account clevertap-demo connected to it"
    )
    console.print(f"  deployed from {folder}: {', '.join(deployed) or 'nothing'}")
    body = (
        '{"user_id": "u-1001", "email": "ada@example.com", "name": "Ada Lovelace",'
        ' "phone": "+14155550100", "plan": "pro", "utm_source": "newsletter"}'
    )
    console.print("  send a sign-up:", style="bold")
    console.print(
        f"  curl -X POST http://{host}:{port}/hooks/signup -H 'content-type:"
        f" application/json' -d '{body}'",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"  then: relayflow runs, and the profile at {sandbox.dashboard_url}")


@app.command()
def server(
    home: Home = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = DEFAULT_PORT,
) -> None:
    """Run only the HTTP server (webhooks and API); pair it with `relayflow worker`."""
    config = _config(home)
    _serve(Runtime(config, worker=False, scheduler=False), host, port, banner=True)


def _run_until_signal(runtime: Runtime, label: str) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start()
        console.print(f"relayflow {label} {runtime.owner} started ({runtime.db.dialect})")
        try:
            await stop.wait()
        finally:
            await runtime.stop()

    asyncio.run(main())


@app.command()
def worker(home: Home = None) -> None:
    """Run only workers: claim queued runs and execute them (scale out with PostgreSQL)."""
    _run_until_signal(Runtime(_config(home), worker=True, scheduler=False), "worker")


@app.command()
def scheduler(home: Home = None) -> None:
    """Run only the scheduler that fires schedule triggers."""
    _run_until_signal(Runtime(_config(home), worker=False, scheduler=True), "scheduler")


# Workflows --------------------------------------------------------------------------------


@app.command()
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


# Runs ---------------------------------------------------------------------------------------


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


@app.command()
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

    Given a file, it is tested as a draft: stored as a version, but not deployed."""
    from relayflow.model.loader import WorkflowFileError, load_file
    from relayflow.store import history
    from relayflow.store.workflows import deploy as deploy_workflow
    from relayflow.store.workflows import get_workflow

    config = _config(home)
    db = _database(config)
    version = None
    if Path(name).is_file():
        try:
            loaded = load_file(Path(name))
        except WorkflowFileError as exc:
            for problem in exc.problems:
                sys.stderr.write(f"{problem}\n")
            fail("the workflow file has problems; nothing was run")
        version = deploy_workflow(db, loaded.workflow, loaded.source, draft=True).version
        name = loaded.workflow.name
    row = get_workflow(db, name)
    if row is None:
        fail(f"no workflow named {name!r}; deploy it, or pass its file to test it as a draft")
    if version is None and not row.current_version:
        fail(f"{name} has only drafts; pass its file to test it")
    payload = _read_event(event, row.http_path) if event else {}

    async def work(runtime: Runtime) -> str:
        return await runtime.run_now(row, payload, version=version, stop_after=until)

    run_id = _with_runtime(config, work)
    found = history.get_run(db, run_id)
    if as_json:
        print_json(found)
    else:
        _show_run(found)
    if found["status"] == "failed":
        raise typer.Exit(1)


@app.command()
def runs(
    name: Annotated[str | None, typer.Argument(help="Only this workflow's runs")] = None,
    status: Annotated[
        str | None, typer.Option(help="queued|running|succeeded|failed|exited")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 20,
    search: Annotated[str, typer.Option(help="Only runs whose event contains this text")] = "",
    since: Annotated[str | None, typer.Option(help="1h, 24h, 7d or 30d")] = None,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Recent runs; a failed run shows its error."""
    from relayflow.store import history
    from relayflow.store.workflows import get_workflow

    db = _database(_config(home))
    workflow_id = None
    if name:
        row = get_workflow(db, name)
        if row is None:
            fail(f"no workflow named {name!r}")
        workflow_id = row.id
    found = history.list_runs(db, workflow_id, status, limit, q=search, since=since)
    if as_json:
        print_json(found)
        return
    table = Table("run", "workflow", "status", "created", "took", "error")
    for run in found:
        took = (
            f"{(run['finished_at'] - run['created_at']) * 1000:.0f} ms"
            if run["finished_at"]
            else "-"
        )
        table.add_row(
            run["id"],
            f"{run['workflow']} v{run['version']}",
            _status(run["status"]),
            when(run["created_at"]),
            took,
            run["error"] or "",
        )
    console.print(table if found else "no runs")


def _status(status: str) -> str:
    colour = {"succeeded": "green", "failed": "red", "running": "cyan", "queued": "yellow"}
    return f"[{colour.get(status, 'white')}]{status}[/]"


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)


def _show_run(run: dict[str, Any]) -> None:
    took = f"{(run['finished_at'] - run['created_at']) * 1000:.1f} ms" if run["finished_at"] else ""
    console.print(
        f"run [bold]{run['id']}[/] of {run['workflow']} v{run['version']}: "
        f"{_status(run['status'])} {took}"
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


@app.command()
def inspect(run_id: str, home: Home = None, as_json: AsJson = False) -> None:
    """Everything about one run: the event, and per step inputs, result, logs, error, timing."""
    from relayflow.store import history

    found = history.get_run(_database(_config(home)), run_id)
    if found is None:
        fail(f"no run {run_id}; see relayflow runs")
    if as_json:
        print_json(found)
    else:
        _show_run(found)


@app.command()
def replay(
    run_id: str,
    version: Annotated[int | None, typer.Option(help="Workflow version [default: current]")] = None,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Queue the event of RUN_ID again as a new run (picked up by a running worker)."""
    config = _config(home)

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
    async def work(runtime: Runtime) -> bool:
        return await runtime.control(run_id, action)

    if not _with_runtime(_config(home), work):
        fail(f"run {run_id} is not waiting (queued or sleeping), so it cannot be {action}d")
    console.print(f"run {run_id}: {action}d")


@app.command()
def cancel(run_id: str, home: Home = None) -> None:
    """Cancel a queued or sleeping run (e.g. one waiting in a delay)."""
    _control(run_id, "cancel", home)


@app.command()
def resume(run_id: str, home: Home = None) -> None:
    """Wake a sleeping run now instead of at the end of its delay."""
    _control(run_id, "resume", home)


@app.command()
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


def _mount_groups() -> None:
    """Command groups that live beside their feature."""
    from relayflow.accounts.cli import app as accounts_app
    from relayflow.datastores.cli import app as stores_app
    from relayflow.sandbox.cli import app as sandbox_app
    from relayflow.users.cli import app as users_app

    app.add_typer(accounts_app, name="accounts")
    app.add_typer(stores_app, name="stores")
    app.add_typer(sandbox_app, name="sandbox")
    app.add_typer(users_app, name="users")


_mount_groups()


def main() -> None:
    import logging

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app()


if __name__ == "__main__":
    main()
