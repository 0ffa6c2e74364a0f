"""`relayflow users`: add, list and remove the people who may sign in to the web UI.

Passwords are asked for without echo (twice) when a terminal is attached, or read from
standard input with `--password-stdin` (first line), for scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from relayflow.config import Config
from relayflow.console import Home, console, fail, print_json, when

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input")
]

app = typer.Typer(help="Manage who may sign in to the web UI.", no_args_is_help=True)


def _users(home: Path | None):
    from relayflow.store.database import Database
    from relayflow.users.store import UserStore

    db = Database(Config.load(home).database_url)
    db.upgrade()
    return UserStore(db)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        fail("no terminal to ask for the password; pass it with --password-stdin")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name, e.g. ann or ann@example.com")],
    home: Home = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user who may sign in to the web UI."""
    from relayflow.users.store import UserError

    users = _users(home)
    try:
        users.add(name, _password(password_stdin))
    except UserError as exc:
        fail(str(exc))
    console.print(f"user [bold]{name}[/] added; they can sign in now")


@app.command("list")
def list_users(
    home: Home = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """List users."""
    found = _users(home).list()
    if as_json:
        rows = [
            {"name": u.name, "created_at": u.created_at, "updated_at": u.updated_at} for u in found
        ]
        print_json(rows)
        return
    if not found:
        console.print("no users yet: `relayflow users add NAME`, or use the link `up` prints")
        return
    table = Table("user", "added", "password changed")
    for user in found:
        table.add_row(user.name, when(user.created_at), when(user.updated_at))
    console.print(table)


@app.command("password")
def password(
    name: Annotated[str, typer.Argument(help="The user")],
    home: Home = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a user's password; their sessions end (they sign in again)."""
    from relayflow.users.store import UserError

    users = _users(home)
    if users.get(name) is None:
        fail(f"there is no user {name!r}; `relayflow users list` shows them")
    try:
        users.set_password(name, _password(password_stdin))
    except UserError as exc:
        fail(str(exc))
    console.print(f"password of [bold]{name}[/] changed; their sessions ended")


@app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The user")],
    home: Home = None,
) -> None:
    """Remove a user and end their sessions (the last user cannot be removed)."""
    from relayflow.users.store import UserError

    try:
        _users(home).remove(name)
    except UserError as exc:
        fail(str(exc))
    console.print(f"user [bold]{name}[/] removed")


if __name__ == "__main__":
    app()
