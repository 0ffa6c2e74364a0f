"""`relayflow stores`: look into and change data stores from the shell.

Values are read as JSON when they parse (`42`, `true`, `{"a": 1}`, `"text"`) and as text
otherwise; `--text` always takes them as text. Works on the installation's database
directly, whether or not `relayflow up` is running.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from relayflow.config import Config
from relayflow.console import AsJson, Home, console, fail, print_json, when
from relayflow.datastores.store import DataStoreError, DataStores
from relayflow.store.data_stores import list_stores

Store = Annotated[str, typer.Argument(help="The data store, e.g. signups")]
Key = Annotated[str, typer.Argument(help="The key")]
Ttl = Annotated[
    float | None, typer.Option("--ttl", help="Seconds until the key expires [default: never]")
]

app = typer.Typer(
    help="Data stores: key-value stores shared by workflows (get, set, incr, …).",
    no_args_is_help=True,
)


@contextlib.contextmanager
def _stores(home: Path | None) -> Iterator[DataStores]:
    from relayflow.store.database import Database
    from relayflow.store.writer import Writer

    db = Database(Config.load(home).database_url)
    db.upgrade()
    writer = Writer(db)
    writer.start()
    try:
        yield DataStores(db, writer)
    except DataStoreError as exc:
        fail(exc.message)
    finally:
        writer.stop()
        db.close()


def _expires(ts: float | None) -> str:
    if ts is None:
        return "never"
    left = ts - time.time()
    return f"in {left:.0f}s" if left < 120 else when(ts)


def _value(text: str, as_text: bool) -> Any:
    if as_text:
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@app.command("list")
def list_(home: Home = None, as_json: AsJson = False) -> None:
    """Every data store that holds keys, with its key count."""
    with _stores(home) as stores:
        found = list_stores(stores.db)
    if as_json:
        print_json([s.public() for s in found])
        return
    if not found:
        console.print("no data stores yet: relayflow stores set STORE KEY VALUE")
        return
    table = Table("store", "keys", "last change")
    for summary in found:
        table.add_row(summary.name, str(summary.keys), when(summary.updated_at))
    console.print(table)


@app.command("keys")
def keys(
    store: Store,
    prefix: Annotated[str, typer.Option("--prefix", help="Only keys starting with this")] = "",
    values: Annotated[bool, typer.Option("--values", help="Show values too")] = False,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """A store's keys, sorted (with --values, their values too)."""
    with _stores(home) as stores:
        entries = stores.call_blocking("entries", store, prefix=prefix, values=values)
    if as_json:
        rows = [e.public() for e in entries]
        for row in rows:
            if not values:
                del row["value"]
        print_json(rows)
        return
    if not entries:
        console.print(f"no keys in {store}" + (f" starting with {prefix!r}" if prefix else ""))
        return
    table = Table("key", *(["value"] if values else []), "expires", "last change")
    for entry in entries:
        shown = [_show(entry.value)] if values else []
        table.add_row(entry.key, *shown, _expires(entry.expires_at), when(entry.updated_at))
    console.print(table)


@app.command("get")
def get(store: Store, key: Key, home: Home = None, as_json: AsJson = False) -> None:
    """Print a key's value as JSON; exit 1 if it has none."""
    with _stores(home) as stores:
        entry = stores.call_blocking("entry", store, key=key)
    if entry is None:
        fail(f"data store {store!r} has no key {key!r}")
    if as_json:
        print_json(entry.public())
        return
    sys.stdout.write(_show(entry.value) + "\n")


@app.command("set")
def set_(
    store: Store,
    key: Key,
    value: Annotated[str, typer.Argument(help='JSON (42, true, {...}, "text") or plain text')],
    ttl: Ttl = None,
    as_text: Annotated[bool, typer.Option("--text", help="Store VALUE as text, not JSON")] = False,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Set a key (creating the store if needed), optionally expiring after --ttl seconds."""
    parsed = _value(value, as_text)
    with _stores(home) as stores:
        stores.call_blocking("set", store, key=key, value=parsed, ttl=ttl)
        entry = stores.call_blocking("entry", store, key=key)
    if as_json:
        print_json(entry.public() if entry else {"key": key, "value": parsed})
        return
    expiry = f", expires {_expires(entry.expires_at)}" if entry and entry.expires_at else ""
    console.print(f"{store}/{key} = {_show(parsed)}{expiry}", highlight=False, markup=False)


@app.command("delete")
def delete(store: Store, key: Key, home: Home = None, as_json: AsJson = False) -> None:
    """Remove a key; exit 1 if it had no value."""
    with _stores(home) as stores:
        deleted = stores.call_blocking("delete", store, key=key)
    if as_json:
        print_json({"key": key, "deleted": deleted})
    if not deleted:
        fail(f"data store {store!r} has no key {key!r}")
    if not as_json:
        console.print(f"deleted {store}/{key}", highlight=False, markup=False)


@app.command("incr")
def incr(
    store: Store,
    key: Key,
    by: Annotated[float, typer.Option("--by", help="What to add (negative to subtract)")] = 1,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Add to a number atomically (a missing key starts at 0) and print the new value."""
    amount: int | float = int(by) if float(by).is_integer() else by
    with _stores(home) as stores:
        value = stores.call_blocking("incr", store, key=key, amount=amount)
    if as_json:
        print_json({"key": key, "value": value})
        return
    sys.stdout.write(_show(value) + "\n")


@app.command("clear")
def clear(
    store: Store,
    yes: Annotated[bool, typer.Option("--yes", help="Do it without asking")] = False,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Remove every key of a store (irreversible)."""
    if not yes:
        if not sys.stdin.isatty():
            fail(f"clearing {store} removes every key for good; add --yes to confirm")
        typer.confirm(f"Remove every key of {store}?", abort=True)
    with _stores(home) as stores:
        count = stores.call_blocking("clear", store)
    if as_json:
        print_json({"store": store, "deleted": count})
        return
    console.print(f"removed {count} keys from {store}", highlight=False)
