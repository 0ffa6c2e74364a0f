"""The sources apps provide, and sending a signed sample delivery to a workflow."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from relayflow.cli.app import _config, _database, app
from relayflow.console import AsJson, Home, console, fail, print_json


@app.command(rich_help_panel="Workflows")
def sources(
    query: Annotated[str, typer.Argument(help="Search words, e.g. shopify")] = "",
    as_json: AsJson = False,
) -> None:
    """The sources apps provide: what a workflow's `trigger: source: uses:` can name."""
    from relayflow.sdk import discover

    found = discover().search_sources(query)
    if as_json:
        print_json([s.schema() for s in found])
        return
    table = Table("uses", "title", "inputs")
    for source in found:
        fields = source.inputs.model_fields
        names = [(f.alias or n) + ("" if f.is_required() else "?") for n, f in fields.items()]
        table.add_row(source.key, source.title, ", ".join(names) or "-")
    console.print(table if found else f"no source matches {query!r}")


@app.command("send-sample", rich_help_panel="Test and inspect runs")
def send_sample(
    source: Annotated[str, typer.Argument(help="The source, e.g. shopify.new_order")],
    to: Annotated[str, typer.Option("--to", help="The workflow's URL, …/hooks/<path>")],
    account: Annotated[
        str | None, typer.Option(help="Sign with this account's secret (from --home)")
    ] = None,
    secret: Annotated[str | None, typer.Option(help="Sign with this secret instead")] = None,
    count: Annotated[int, typer.Option(help="Distinct deliveries to send")] = 1,
    repeat: Annotated[int, typer.Option(help="Times to send each (the app retrying)")] = 1,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Send the source's sample delivery, signed the way the app signs it, so a workflow
    can be tried without the real app; --repeat shows that retries make one run."""
    import httpx

    from relayflow.sdk import discover

    spec = discover().source(source)
    if spec is None:
        fail(f"no source named {source!r}; see relayflow sources")
    key = _signing_secret(spec, account, secret, home)
    answers = []
    with httpx.Client(timeout=30) as client:
        for _ in range(count):
            body, headers = spec.sample_delivery(key, uuid.uuid4().hex[:12], time.time())
            for _ in range(repeat):
                try:
                    answer = client.post(to, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    fail(f"could not reach {to}: {exc}")
                answers.append({"status": answer.status_code, "body": _body(answer)})
    if as_json:
        print_json(answers)
        return
    for answer in answers:
        style = "green" if answer["status"] < 300 else "red"
        console.print(f"[{style}]{answer['status']}[/] {answer['body']}", highlight=False)
    if any(a["status"] >= 300 for a in answers):
        raise typer.Exit(1)


def _signing_secret(spec, account: str | None, secret: str | None, home: Path | None) -> str:
    if secret:
        return secret
    if not account:
        fail(
            f"pass --account NAME (a {spec.app} account of this installation) or --secret"
            f" to sign the {spec.key} sample"
        )
    from relayflow.accounts.store import AccountError, AccountStore

    config = _config(home)
    try:
        found = AccountStore(_database(config), config).get(account)
    except AccountError as exc:
        fail(exc.message)
    if found.app != spec.app:
        fail(f"account {account!r} is a {found.app} account; {spec.key} needs a {spec.app} one")
    value = found.values().get(spec.secret_field or "")
    if not value:
        fail(f"account {account!r} has no {spec.secret_field}")
    return str(value)


def _body(answer) -> object:
    try:
        return answer.json()
    except ValueError:
        return answer.text[:300]
