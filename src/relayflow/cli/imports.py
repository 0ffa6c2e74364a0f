"""`relayflow import clevertap profiles|events FILE`: bulk import with progress, resumable.

    relayflow import clevertap profiles users.csv --account clevertap-prod --identity user_id \\
        --map plan=Plan --map age=Age:number
    relayflow import clevertap events orders.xlsx --account clevertap-prod --identity email \\
        --key email --event Charged --ts ordered_at

Each import keeps a journal in <home>/imports/<id>/; run the same command with --resume
after a crash or Ctrl-C to carry on (only the requests in flight then are sent again).
`--dry-run` checks every row against CleverTap's rules and sends nothing.
"""

import asyncio
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from relayflow.config import Config
from relayflow.console import AsJson, Home, console, err, fail, print_json

app = typer.Typer(help="Bulk-import files into an app's account.", no_args_is_help=True)
clevertap_app = typer.Typer(
    help="Import profiles or events from CSV, XLSX or JSON Lines into CleverTap.",
    no_args_is_help=True,
)
app.add_typer(clevertap_app, name="clevertap")

File = Annotated[
    Path, typer.Argument(help="A .csv, .xlsx or .jsonl file; its first row names the columns")
]
AccountName = Annotated[str, typer.Option("--account", help="The CleverTap account to import into")]
Identity = Annotated[str, typer.Option("--identity", help="The column that names the user")]
Key = Annotated[
    str,
    typer.Option("--key", help="What the identity column holds: identity, objectId or email"),
]
Maps = Annotated[
    list[str],
    typer.Option(
        "--map",
        help="COLUMN=Key[:type] renames a column (type: text, number, bool, date, json); "
        "COLUMN= leaves it out. Repeatable",
    ),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Check every row; send nothing")]
Resume = Annotated[bool, typer.Option("--resume", help="Carry on an import that stopped")]
Fresh = Annotated[bool, typer.Option("--fresh", help="Start over, forgetting an earlier run")]


def _command(kind: str, doc: str) -> Any:
    """The `profiles` or `events` command (events also take --event and --ts)."""
    profiles = kind == "profiles"

    def command(
        file: File,
        account: AccountName,
        identity: Identity,
        event: Annotated[
            str | None,
            typer.Option("--event", hidden=profiles, help="The event name, or its column"),
        ] = None,
        ts: Annotated[
            str | None,
            typer.Option("--ts", hidden=profiles, help="The column with when it happened"),
        ] = None,
        key: Key = "identity",
        maps: Maps = [],  # noqa: B006 - typer reads the default, never mutates it
        dry_run: DryRun = False,
        resume: Resume = False,
        fresh: Fresh = False,
        home: Home = None,
        as_json: AsJson = False,
    ) -> None:
        if profiles and (event or ts):
            fail(
                "profiles take no --event or --ts; import events with: relayflow import "
                "clevertap events FILE ..."
            )
        options = _Options(key, maps, event, ts, dry_run, resume, fresh, home, as_json)
        _import(kind, file, account, identity, options)

    command.__doc__ = doc
    return command


clevertap_app.command("profiles")(
    _command("profiles", "Create or update one profile per row; other columns become properties.")
)
clevertap_app.command("events")(
    _command("events", "Upload one event per row (--event, --ts); other columns become its data.")
)


@dataclass(frozen=True)
class _Options:
    key: str
    maps: list[str]
    event: str | None
    ts: str | None
    dry_run: bool
    resume: bool
    fresh: bool
    home: Path | None
    as_json: bool


def parse_maps(items: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """--map values as (column -> key, column -> type); BadParameter naming a bad one."""
    mapping: dict[str, str] = {}
    types: dict[str, str] = {}
    for item in items:
        column, sep, rest = item.partition("=")
        if not sep or not column.strip():
            raise typer.BadParameter(
                f"{item!r} is not COLUMN=Key[:type]; write e.g. --map plan=Plan or "
                "--map age=Age:number",
                param_hint="--map",
            )
        target, _, kind = rest.partition(":")
        column = column.strip()
        if target.strip() or not kind:
            mapping[column] = target.strip()
        if kind:
            types[column] = kind.strip()
    return mapping, types


def _import(kind: str, file: Path, account: str, identity: str, options: _Options) -> None:
    from relayflow.apps.clevertap import connect
    from relayflow.apps.clevertap.bulk import BulkImport, ImportError_, ImportSpec, RowMapper
    from relayflow.apps.clevertap.files import FileError, open_rows
    from relayflow.apps.clevertap.journal import Journal

    mapping, types = parse_maps(options.maps)
    spec = ImportSpec(
        kind,
        identity,
        options.key,
        mapping,
        types,
        options.event,
        options.ts,  # type: ignore[arg-type]
    )
    dry_run, resume, fresh, as_json = (
        options.dry_run,
        options.resume,
        options.fresh,
        options.as_json,
    )
    config = Config.load(options.home)
    fields = _account_fields(config, account)
    try:
        with open_rows(file) as rows:
            RowMapper(spec, rows.columns)  # a wrong column is refused before anything starts
    except (FileError, ImportError_) as exc:
        fail(str(exc))
    folder = config.home / "imports" / _job_id(file, account, spec, dry_run)
    journal = Journal(folder)
    unfinished = journal.exists() and journal.load().status not in ("done", "checked")
    try:
        if resume and unfinished:
            job = BulkImport.resume(folder)
            err.print(f"resuming import {job.state.id} of {file.name}", highlight=False)
        elif unfinished and not fresh and not dry_run:
            state = journal.load()
            fail(
                f"an earlier import of {file.name} stopped ({state.status}) after "
                f"{state.counts.rows} rows; add --resume to carry on, or --fresh to start over"
            )
        else:
            job = BulkImport.start(folder, account, file, spec, dry_run=dry_run)
    except ImportError_ as exc:
        fail(str(exc))
    client = None if dry_run else connect(fields)
    state = _run(job, client, config, quiet=as_json)
    if as_json:
        print_json({**state.public(), "report": str(journal.report_file)})
    else:
        _summary(state, journal.report_file)
    if state.status not in ("done", "checked"):
        raise typer.Exit(1)


def _account_fields(config: Config, name: str) -> dict[str, Any]:
    from relayflow.accounts.store import AccountError, AccountStore
    from relayflow.store.database import Database

    db = Database(config.database_url)
    db.upgrade()
    try:
        found = AccountStore(db, config).get(name)
    except AccountError as exc:
        fail(exc.message)
    if found.app != "clevertap":
        fail(f"account {name!r} is a {found.app} account; import into a CleverTap account")
    return found.values()


def _job_id(file: Path, account: str, spec: Any, dry_run: bool) -> str:
    what = json.dumps([str(file.resolve()), account, spec.as_dict(), dry_run], sort_keys=True)
    return hashlib.sha256(what.encode()).hexdigest()[:12]


def _run(job: Any, client: Any, config: Config, quiet: bool) -> Any:
    from relayflow.sdk import slots
    from relayflow.store.database import Database
    from relayflow.store.slots import slot_provider

    # The account's request limit holds across this import and every relayflow process.
    slots.install(slot_provider(Database(config.database_url), config.home))
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:>9,} rows  {task.fields[rate]:>7,.0f} rows/s"),
        TextColumn("[red]{task.fields[rejected]:,} rejected"),
        TimeRemainingColumn(),
    )
    verb = "checking" if job.state.dry_run else "importing"
    with Progress(*columns, console=err, disable=quiet, transient=False) as progress:
        task = progress.add_task(
            f"{verb} {job.state.file_name}", total=1000, rows=0, rate=0.0, rejected=0
        )

        def show(state: Any) -> None:
            progress.update(
                task,
                completed=int(state.fraction * 1000),
                rows=state.counts.rows,
                rate=state.rows_per_second,
                rejected=state.counts.rejected,
            )

        async def main() -> Any:
            try:
                return await job.run(client, show)
            finally:
                if client is not None:
                    await client.aclose()

        try:
            return asyncio.run(main())
        except KeyboardInterrupt:
            progress.stop()
            err.print(
                f"[yellow]stopped[/] after {job.state.counts.rows:,} rows; carry on with the "
                "same command and --resume",
                highlight=False,
            )
            raise typer.Exit(130) from None


def _summary(state: Any, report: Path) -> None:
    counts = state.counts
    if state.dry_run:
        console.print(
            f"checked {counts.rows:,} rows: {counts.rows - counts.rejected:,} would be sent, "
            f"{counts.rejected:,} break CleverTap's rules (nothing was sent)",
            highlight=False,
        )
    elif state.status == "done":
        console.print(
            f"imported {counts.rows:,} rows: {counts.processed:,} accepted by CleverTap, "
            f"{counts.rejected:,} rejected",
            highlight=False,
        )
    else:
        err.print(f"[red]import {state.status}:[/] {state.error}", highlight=False)
        err.print(f"{counts.rows:,} rows done; carry on with the same command and --resume")
    if counts.rejected:
        console.print(f"rejected rows with CleverTap's code and message: {report}")
