"""`relayflow accounts`: connect, list, test, rename and remove app accounts.

`add` takes each account field as its own option, named after the field (`--account-id`,
`--passcode`, `--region`, `--endpoint` for CleverTap), or generically as `--field key=value`.
A secret left out is asked for without echo when a terminal is attached. Secrets are never
printed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from relayflow.config import Config
from relayflow.console import AsJson, Home, console, err, fail, print_json, when


def _account_flags_help() -> str:
    from relayflow.sdk import discover

    lines = []
    for app in sorted(discover().apps.values(), key=lambda a: a.key):
        if not app.account_fields:
            continue
        flags = []
        for spec in app.account_fields:
            value = "|".join(spec.choices) if spec.choices else spec.name.upper()
            flag = f"--{spec.name.replace('_', '-')} {value}"
            flags.append(flag if spec.required else f"[{flag}]")
        lines.append(f"{app.key}: {' '.join(flags)}")
    return "Account fields by app:\n\n" + "\n\n".join(lines)


app = typer.Typer(
    help="Connect app accounts (e.g. CleverTap) that workflow steps use with `account:`.",
    no_args_is_help=True,
)


def _store(home: Path | None):
    from relayflow.accounts.store import AccountStore
    from relayflow.store.database import Database

    config = Config.load(home)
    db = Database(config.database_url)
    db.upgrade()
    return AccountStore(db, config)


def _parse_options(args: list[str], generic: list[str]) -> dict[str, str]:
    """`--name value`, `--name=value` and `--field name=value` as {name: value}."""
    values: dict[str, str] = {}
    for item in generic:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--field {item!r} is not key=value; write e.g. --field account_id=ABC")
        values[key.strip().replace("-", "_")] = value
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            fail(f"unexpected argument {arg!r}; give account fields as --name VALUE")
        key, sep, value = arg[2:].partition("=")
        if not sep:
            if i + 1 >= len(args):
                fail(f"{arg} needs a value, e.g. {arg} VALUE")
            value = args[i + 1]
            i += 1
        values[key.replace("-", "_")] = value
        i += 1
    return values


@app.command(
    "add",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    epilog=_account_flags_help(),
)
def add(
    ctx: typer.Context,
    app_key: Annotated[str, typer.Argument(metavar="APP", help="The app, e.g. clevertap")],
    name: Annotated[str, typer.Argument(help="Your name for the account, e.g. clevertap-prod")],
    field: Annotated[
        list[str], typer.Option("--field", help="key=value; repeatable (any app's fields)")
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    replace: Annotated[bool, typer.Option(help="Overwrite an account of that name")] = False,
    test: Annotated[
        bool,
        typer.Option(
            help="Make the app's connection test call first and save nothing if it fails"
            " (--no-test saves the account untested)"
        ),
    ] = True,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Connect an account: relayflow accounts add clevertap clevertap-prod --account-id ID
    --passcode CODE --region in1 (or --endpoint http://127.0.0.1:8790 for the sandbox).
    The connection is tested before the account is saved, unless --no-test."""
    from relayflow.accounts.store import AccountError, ConnectionTestFailed

    values = _parse_options(list(ctx.args), field)
    store = _store(home)
    try:
        spec = store.app(app_key)
        known = {f.name for f in spec.account_fields}
        for key in values:
            if key not in known:
                flags = ", ".join("--" + n.replace("_", "-") for n in known)
                fail(f"{app_key} accounts have no field {key!r}; use {flags}")
        for secret in (f for f in spec.account_fields if f.secret and f.required):
            if not values.get(secret.name) and sys.stdin.isatty():
                values[secret.name] = typer.prompt(secret.label, hide_input=True)
        account, tested = asyncio.run(
            store.add_tested(app_key, name, values, replace=replace, test=test)
        )
    except ConnectionTestFailed as exc:
        fail(f"{exc.message}\nFix the fields, or pass --no-test to save the account untested.")
    except AccountError as exc:
        hint = ""
        if exc.field in _known_fields(store, app_key) and not values.get(exc.field):
            hint = f"; pass --{exc.field.replace('_', '-')} VALUE"
        fail(exc.message + hint)
    if as_json:
        print_json({**account.public(), "connection_test": tested})
        return
    shown = [f"{k} {v}" for k, v in account.fields.items()]
    if account.secrets_set:
        shown.append(f"{', '.join(account.secrets_set)} stored encrypted")
    if tested:
        check = f" Connection tested: {tested}"
    elif spec.test_connection:
        check = f" Not tested; check it with: relayflow accounts test {account.name}"
    else:
        check = ""
    console.print(
        f"added {spec.title} account [bold]{account.name}[/] ({'; '.join(shown)}).{check}",
        highlight=False,
    )


def _known_fields(store: Any, app_key: str) -> set[str]:
    found = store.apps.get(app_key)
    return {f.name for f in found.account_fields} if found else set()


@app.command("list")
def list_accounts(home: Home = None, as_json: AsJson = False) -> None:
    """Every connected account with its public fields; secrets only show as set."""
    accounts = _store(home).list()
    if as_json:
        print_json([a.public() for a in accounts])
        return
    if not accounts:
        console.print("no accounts yet: relayflow accounts add clevertap NAME --account-id ...")
        return
    table = Table("name", "app", "fields", "secrets", "updated")
    for account in accounts:
        fields = "\n".join(f"{k}: {v}" for k, v in account.fields.items())
        if account.secrets_readable:
            secrets = "\n".join(f"{s}: set" for s in account.secrets_set) or "-"
        else:
            secrets = "[red]unreadable (the secret key changed)[/]"
        table.add_row(account.name, account.app, fields, secrets, when(account.updated_at))
    console.print(table)


@app.command("test")
def test(name: str, home: Home = None, as_json: AsJson = False) -> None:
    """Make a real authenticated call with the account; exit 1 with the reason if it fails."""
    from relayflow.accounts.store import AccountError

    store = _store(home)
    try:
        account = store.get(name)
        spec = store.app(account.app)
    except AccountError as exc:
        fail(exc.message)
    if spec.test_connection is None:
        fail(f"{spec.title} accounts cannot be tested (the app has no connection test)")
    try:
        message = asyncio.run(spec.test_connection(account.values()))
    except Exception as exc:  # noqa: BLE001 - the reason is the answer
        if as_json:
            print_json({"name": name, "ok": False, "error": str(exc)})
            raise typer.Exit(1) from None
        fail(f"account {name} failed its test: {exc}")
    if as_json:
        print_json({"name": name, "ok": True, "message": message})
    else:
        console.print(f"[green]ok[/] {name}: {message}", highlight=False)


@app.command("remove")
def remove(name: str, home: Home = None, as_json: AsJson = False) -> None:
    """Delete an account and its encrypted secrets."""
    from relayflow.accounts.store import AccountError

    store = _store(home)
    try:
        account = store.remove(name)
    except AccountError as exc:
        fail(exc.message)
    users = store.used_by(name)
    if as_json:
        print_json({"removed": account.name, "used_by": users})
        return
    console.print(f"removed account {account.name}", highlight=False)
    if users:
        err.print(
            f"[yellow]warning:[/] workflows still use it and will fail until it is added "
            f"again: {', '.join(users)}",
            highlight=False,
        )


@app.command("rename")
def rename(name: str, new_name: str, home: Home = None, as_json: AsJson = False) -> None:
    """Rename an account (workflows refer to accounts by name: update their `account:`)."""
    from relayflow.accounts.store import AccountError

    store = _store(home)
    try:
        account = store.rename(name, new_name)
    except AccountError as exc:
        fail(exc.message)
    users = store.used_by(name)
    if as_json:
        print_json({**account.public(), "renamed_from": name, "still_using_old_name": users})
        return
    console.print(f"renamed account {name} to {account.name}", highlight=False)
    if users:
        err.print(
            f"[yellow]warning:[/] these workflows still say account: {name}: {', '.join(users)}",
            highlight=False,
        )
