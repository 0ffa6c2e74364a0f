"""Running relayflow: everything in one process, or each part on its own."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import uvloop

from relayflow.cli.app import _config, _database, app
from relayflow.config import DEFAULT_PORT, Config
from relayflow.console import Home, console, fail
from relayflow.engine.processes import ParentLink, default_count

if TYPE_CHECKING:  # imported by the commands that start one
    from relayflow.runtime import Runtime


def _serve(runtime: Runtime, host: str, port: int, banner: bool) -> None:
    import uvicorn

    class _Server(uvicorn.Server):
        """uvicorn, telling the runtime at once when SIGTERM or Ctrl-C arrives."""

        def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
            super().__init__(config)
            self.runtime = runtime

        def handle_exit(self, sig: int, frame: object) -> None:
            self.runtime.begin_stop()
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    from relayflow.server.app import create_asgi
    from relayflow.server.protocol import guarded_protocol

    if not os.environ.get("RELAYFLOW_PUBLIC_URL"):
        runtime.config.public_url = f"http://{host}:{port}"
    runtime.config.listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    web = create_asgi(runtime)
    if banner:
        token = runtime.config.api_token_file
        console.print(f"[bold green]relayflow[/] is running on http://{host}:{port}")
        console.print(f"  webhooks  http://{host}:{port}/hooks/<path>")
        docs = "docs at /docs" if runtime.config.api_docs else "docs off"
        console.print(f"  API       http://{host}:{port}/api/v1  ({docs}; token in {token})")
        guarded = "  (bearer token required)" if runtime.config.metrics_token else ""
        console.print(f"  metrics   http://{host}:{port}/metrics{guarded}")
        console.print(f"  web UI    http://{host}:{port}/")
        from relayflow.users import first_run_message

        sign_in = first_run_message(runtime)
        if sign_in:
            console.print(sign_in, soft_wrap=True, markup=False)
        console.print(f"  home      {runtime.config.home}  database {runtime.db.dialect}")
        style = "" if runtime.code_isolation.available else "bold red"
        console.print(f"  code steps {runtime.code_steps_status}", style=style, markup=False)
    config = uvicorn.Config(
        web,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http=guarded_protocol(runtime.config),
        # X-Forwarded-For/-Proto are believed only from these (uvicorn's default: 127.0.0.1)
        proxy_headers=bool(runtime.config.trusted_proxies),
        forwarded_allow_ips=[str(net) for net in runtime.config.trusted_proxies] or None,
        timeout_graceful_shutdown=3,
    )
    _Server(config, runtime).run()


@app.command(rich_help_panel="Run relayflow")
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
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes that execute runs beside the server (default: one per core"
            " but one, at least 1; RELAYFLOW_WORKERS); 0 executes them in the server's process",
            min=0,
        ),
    ] = None,
) -> None:
    """Run everything with one command: server, scheduler and worker processes (SQLite)."""
    config = _config(home)
    if workers is None:
        workers = int(os.environ.get("RELAYFLOW_WORKERS") or default_count())
    if demo:
        _start_demo(config, host, port, sandbox_port)
    from relayflow.runtime import Runtime

    runtime = Runtime(config, worker=workers == 0, scheduler=True, worker_processes=workers)
    _serve(runtime, host, port, banner=True)


def _examples_folder() -> Path | None:
    for candidate in (Path.cwd() / "examples", Path(__file__).resolve().parents[3] / "examples"):
        if candidate.is_dir():
            return candidate
    return None


# Accounts the demo's signed sources use; their secrets are for the demo only.
DEMO_ACCOUNTS = {
    "shopify-demo": (
        "shopify",
        {"shop": "relayflow-demo.myshopify.com", "webhook_secret": "demo-shopify-secret"},
    ),
    "stripe-demo": ("stripe", {"webhook_secret": "whsec_demo_stripe_secret"}),
    "segment-demo": ("segment", {"webhook_secret": "demo-segment-secret"}),
}
DEMO_SAMPLES = (  # (source, path it is served at by examples/)
    ("shopify.new_order", "shopify/orders"),
    ("stripe.new_event", "stripe"),
    ("segment.new_call", "segment"),
)


def _start_demo(config: Config, host: str, port: int, sandbox_port: int) -> None:
    """The first-run experience: sandbox + demo account + example workflows + a curl line."""
    from relayflow.accounts.store import AccountStore
    from relayflow.sandbox import SandboxServer
    from relayflow.workflows import InvalidWorkflow, Workflows

    sandbox = SandboxServer(port=sandbox_port, db_path=config.home / "sandbox.db").start()
    db = _database(config)
    accounts = AccountStore(db, config)
    accounts.add(
        "clevertap",
        "clevertap-demo",
        {
            "account_id": sandbox.account_id,
            "passcode": sandbox.passcode,
            "endpoint": sandbox.url,
            # With the token, personalised messages from many runs share /2 requests.
            "token": sandbox.tokens[sandbox.account_id],
        },
        replace=True,
    )
    for name, (app_key, fields) in DEMO_ACCOUNTS.items():
        accounts.add(app_key, name, fields, replace=True)
    folder = _examples_folder()
    deployed = []
    if folder is not None:
        workflows = Workflows(db)
        try:
            loaded = workflows.load([folder])
        except InvalidWorkflow as exc:
            fail(f"the examples did not validate:\n{exc}")
        deployed = [result.name for result in workflows.deploy(loaded)]
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
    console.print("  or send what Shopify, Stripe or Segment would, signed:", style="bold")
    for source, path in DEMO_SAMPLES:
        account = next(n for n, (a, _f) in DEMO_ACCOUNTS.items() if a == source.split(".")[0])
        console.print(
            f"  relayflow send-sample {source} --account {account}"
            f" --to http://{host}:{port}/hooks/{path}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@app.command(rich_help_panel="Run relayflow")
def server(
    home: Home = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = DEFAULT_PORT,
) -> None:
    """Run only the HTTP server (webhooks and API); pair it with `relayflow worker`."""
    config = _config(home)
    from relayflow.runtime import Runtime

    _serve(Runtime(config, worker=False, scheduler=False), host, port, banner=True)


def _run_until_signal(runtime: Runtime, label: str) -> None:
    """Run until SIGTERM or Ctrl-C (or, for a worker process of `up`, until `up` is gone),
    then stop cleanly: runs finish or are handed back, the writer flushes."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if runtime.parent is not None:
            runtime.parent.on_gone = stop.set
        await runtime.start()
        if runtime.parent is None:
            console.print(f"relayflow {label} {runtime.owner} started ({runtime.db.dialect})")
        try:
            await stop.wait()
        finally:
            await runtime.stop()

    uvloop.run(main())


@app.command(rich_help_panel="Run relayflow")
def worker(home: Home = None) -> None:
    """Run only workers: claim queued runs and execute them (scale out with PostgreSQL)."""
    from relayflow.runtime import Runtime

    runtime = Runtime(_config(home), worker=True, scheduler=False, parent=ParentLink.from_env())
    _run_until_signal(runtime, "worker")


@app.command(rich_help_panel="Run relayflow")
def scheduler(home: Home = None) -> None:
    """Run only the scheduler that fires schedule triggers."""
    from relayflow.runtime import Runtime

    _run_until_signal(Runtime(_config(home), worker=False, scheduler=True), "scheduler")
