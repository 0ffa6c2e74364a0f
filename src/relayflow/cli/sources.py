"""The sources apps provide, polling a workflow's source now, and sending a signed sample
delivery to a workflow."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from relayflow.cli.app import _config, _database, _with_runtime, app
from relayflow.console import AsJson, Home, console, fail, print_json


class _ListByDefault(TyperGroup):
    """`relayflow sources [QUERY]` lists; `relayflow sources poll WORKFLOW` polls."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["list", *args]
        return super().parse_args(ctx, args)


sources_app = typer.Typer(
    cls=_ListByDefault,
    help="The sources apps provide; poll a workflow's polling source now.",
)
app.add_typer(sources_app, name="sources", rich_help_panel="Workflows")


@sources_app.command("list")
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
    table = Table("uses", "kind", "title", "inputs")
    for source in found:
        fields = source.inputs.model_fields
        names = [(f.alias or n) + ("" if f.is_required() else "?") for n, f in fields.items()]
        table.add_row(source.key, source.kind, source.title, ", ".join(names) or "-")
    console.print(table if found else f"no source matches {query!r}")


@sources_app.command("poll")
def sources_poll(
    workflow: Annotated[str, typer.Argument(help="A deployed workflow with a polling source")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be emitted; emit nothing")
    ] = False,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Poll the workflow's source now: its new items start runs, exactly as a scheduled
    poll would (never twice, even if the scheduler polls at the same moment)."""
    from relayflow.runtime import Runtime
    from relayflow.workflows import Workflows

    config = _config(home)
    row = Workflows(_database(config)).find(workflow)
    if row is None or not row.current_version:
        fail(f"no deployed workflow named {workflow!r}; see relayflow workflows list")
    if not row.active and not dry_run:
        fail(f"{workflow} is paused; activate it to poll it (or pass --dry-run)")

    async def work(runtime: Runtime) -> dict[str, Any]:
        try:
            return (await runtime.poll_now(row, dry_run=dry_run)).as_dict()
        except LookupError as exc:
            fail(str(exc))

    found = _with_runtime(config, work)
    if as_json:
        print_json(found)
    elif dry_run:
        _show_dry_run(found)
    else:
        _show_poll(found)
    if found.get("error") or found.get("busy"):
        raise typer.Exit(1)


def _show_dry_run(found: dict[str, Any]) -> None:
    more = "" if found["complete"] else "+ (more than a dry run reads)"
    first = " (first poll: backfill applies)" if found["first_poll"] else ""
    console.print(f"a poll now would emit [bold]{found['would_emit']}{more}[/] events{first}")
    for event in found["events"]:
        console.print(json.dumps(event, ensure_ascii=False), markup=False, highlight=False)
    _show_problems(found)


def _show_poll(found: dict[str, Any]) -> None:
    if found.get("busy"):
        console.print(f"[yellow]{found['workflow']} is being polled by {found['busy']} now[/]")
        return
    console.print(f"emitted [bold]{found['emitted']}[/] events from {found['workflow']}")
    _show_problems(found)


def _show_problems(found: dict[str, Any]) -> None:
    for problem in found.get("problems") or []:
        console.print(f"[yellow]problem:[/] {problem}", highlight=False)
    if found.get("error"):
        console.print(f"[red]error:[/] {found['error']}", highlight=False)


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
    if spec.kind != "webhook":
        fail(f"{source} is polled, not sent to; try relayflow sources poll WORKFLOW --dry-run")
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
