"""`relayflow audit`: the audit log of changes, newest first."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from relayflow.cli.app import _config, _database, app
from relayflow.console import AsJson, Home, console, fail, print_json, when


@app.command(rich_help_panel="Accounts, data and people")
def audit(
    target: Annotated[
        str | None, typer.Argument(help="Only changes to this workflow, account, user or run")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="An action or its prefix: workflow., account.add, …")
    ] = None,
    actor: Annotated[str | None, typer.Option(help='Who: "user admin", "API token", …')] = None,
    since: Annotated[str | None, typer.Option(help="How far back: 1h, 24h, 7d")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Every change (deploy, rollback, pause, activate, delete, accounts, users, replays)
    with who made it, when and what."""
    from relayflow import audit as log
    from relayflow.sdk import parse_duration

    start = None
    if since:
        try:
            start = time.time() - parse_duration(since)
        except ValueError as exc:
            fail(f"--since: {exc}")
    found = log.entries(
        _database(_config(home)),
        limit=limit,
        action=action,
        target=target,
        actor=actor,
        since=start,
    )
    if as_json:
        print_json([row.public() for row in found])
        return
    if not found:
        console.print("no changes recorded")
        return
    for row in found:
        details = json.dumps(row.details, ensure_ascii=False) if row.details else ""
        console.print(
            f"{when(row.at)}  {row.actor}  {row.action} {row.target}  {details}".rstrip(),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
