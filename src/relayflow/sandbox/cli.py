"""`relayflow sandbox clevertap`: run a local server that behaves as CleverTap's API does."""

from __future__ import annotations

import os
from pathlib import Path

import typer
import uvicorn
from rich.console import Console

from relayflow.apps.clevertap.rules import MAX_CONCURRENT_REQUESTS
from relayflow.sandbox.app import DEFAULT_ACCOUNTS, DEFAULT_TOKEN, create_app

app = typer.Typer(
    help="Local stand-ins for the services relayflow talks to, for tests, demos and dry runs.",
    no_args_is_help=True,
)


def default_db_path() -> Path:
    home = Path(os.environ.get("RELAYFLOW_HOME", "~/.relayflow")).expanduser()
    return home / "sandbox" / "clevertap.sqlite3"


def parse_accounts(values: list[str]) -> dict[str, str]:
    """`ID:PASSCODE` strings to {ID: PASSCODE}; BadParameter naming a malformed one."""
    accounts: dict[str, str] = {}
    for value in values:
        account_id, sep, passcode = value.partition(":")
        if not sep or not account_id or not passcode:
            raise typer.BadParameter(
                f"{value!r} is not ID:PASSCODE; write e.g. --account TEST-ABC:my-passcode",
                param_hint="--account",
            )
        accounts[account_id] = passcode
    return accounts or dict(DEFAULT_ACCOUNTS)


@app.callback()
def sandbox() -> None:
    """Local stand-ins for the services relayflow talks to."""


@app.command()
def clevertap(
    host: str = typer.Option("127.0.0.1", help="Interface to bind; keep 127.0.0.1 (no auth)."),
    port: int = typer.Option(8790, help="Port to listen on."),
    db: Path | None = typer.Option(
        None,
        "--db",
        help="SQLite file for the sandbox's data.",
        show_default="~/.relayflow/sandbox/clevertap.sqlite3",
    ),
    account: list[str] = typer.Option(
        [],
        "--account",
        help="ID:PASSCODE of an account to accept; repeatable.",
        show_default="TEST-RELAYFLOW:sandbox-passcode",
    ),
    error_rate: float = typer.Option(0.0, min=0.0, max=1.0, help="Fraction of calls → 503."),
    latency_ms: int = typer.Option(0, min=0, help="Added latency per API call, in ms."),
    fail_next: int = typer.Option(0, min=0, help="Fail this many API calls first (503)."),
    concurrency: int = typer.Option(
        MAX_CONCURRENT_REQUESTS, min=1, help="Requests in flight per account before a 429."
    ),
) -> None:
    """Serve CleverTap's REST API (upload, profiles, events, counts, delete, campaigns)."""
    accounts = parse_accounts(account)
    db_path = db or default_db_path()
    asgi_app = create_app(
        db_path,
        accounts,
        error_rate,
        latency_ms,
        fail_next=fail_next,
        concurrency_limit=concurrency,
    )
    base = f"http://{host}:{port}"
    console = Console()
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"[yellow]Listening on {host}: the dashboard and /_sandbox/ have no auth; "
            "use --host 127.0.0.1 unless other machines must reach it.[/yellow]"
        )
    console.print(f"[bold]CleverTap sandbox[/bold] API       {base}/1/  (region: point at {base})")
    console.print(f"                  dashboard {base}/")
    console.print(f"                  database  {db_path}")
    for account_id, passcode in accounts.items():
        console.print(
            f"                  account   {account_id}  passcode {passcode}  token {DEFAULT_TOKEN}"
        )
    if error_rate or latency_ms or fail_next:
        console.print(
            f"                  faults    error_rate={error_rate} latency_ms={latency_ms} "
            f"fail_next={fail_next}"
        )
    uvicorn.run(asgi_app, host=host, port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    app()
