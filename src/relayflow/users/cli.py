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


Role = Annotated[str, typer.Option(help="owner (everything), editor (workflows, stores,"
                 " replays) or viewer (read only)")]


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name, e.g. ann or ann@example.com")],
    home: Home = None,
    password_stdin: PasswordStdin = False,
    role: Role = "owner",
) -> None:
    """Add a user who may sign in to the web UI (and hold API tokens)."""
    from relayflow.users.store import UserError

    users = _users(home)
    try:
        users.add(name, _password(password_stdin), role)
    except UserError as exc:
        fail(str(exc))
    console.print(f"user [bold]{name}[/] ({role}) added; they can sign in now")


@app.command("role")
def set_role(
    name: Annotated[str, typer.Argument(help="The user")],
    role: Annotated[str, typer.Argument(help="owner, editor or viewer")],
    home: Home = None,
) -> None:
    """Change what a user, and each of their API tokens, may do."""
    from relayflow.users.store import UserError

    try:
        _users(home).set_role(name, role)
    except UserError as exc:
        fail(str(exc))
    console.print(f"[bold]{name}[/] is now a {role}")


@app.command("list")
def list_users(
    home: Home = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """List users."""
    users = _users(home)
    found = users.list()
    roles = {u.name: users.role(u.name) for u in found}
    if as_json:
        print_json(
            [
                {"name": u.name, "role": roles[u.name], "created_at": u.created_at,
                 "updated_at": u.updated_at}
                for u in found
            ]
        )  # fmt: skip
        return
    if not found:
        console.print("no users yet: `relayflow users add NAME`, or use the link `up` prints")
        return
    table = Table("user", "role", "added", "changed")
    for user in found:
        table.add_row(user.name, roles[user.name], when(user.created_at), when(user.updated_at))
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



tokens_app = typer.Typer(
    help="API tokens per user, each with a role (shown once; revocable).", no_args_is_help=True
)


def _tokens(home: Path | None):
    from relayflow.users.tokens import Tokens

    return Tokens(_users(home).db)


@tokens_app.command("create")
def create_token(
    user: Annotated[str, typer.Argument(help="Whose token")],
    role: Annotated[
        str | None, typer.Option(help="owner, editor or viewer (default: the user's role)")
    ] = None,
    label: Annotated[str, typer.Option(help="What it is for, e.g. grafana")] = "",
    home: Home = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Create a token for `Authorization: Bearer …`; it is printed once, never again."""
    from relayflow.users.store import UserError

    try:
        secret, row = _tokens(home).create(user, role, label)
    except UserError as exc:
        fail(str(exc))
    if as_json:
        print_json({"id": row.id, "user": row.user, "role": row.role, "token": secret})
        return
    console.print(f"token [bold]{row.id}[/] for {row.user} ({row.role}); keep it now:")
    console.print(secret, markup=False, highlight=False)


@tokens_app.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Argument(help="Only this user's")] = None,
    home: Home = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Tokens with their user, role and label (never the secret)."""
    found = _tokens(home).list(user)
    if as_json:
        print_json([row.__dict__ for row in found])
        return
    table = Table("id", "user", "role", "label", "created", "revoked")
    for row in found:
        table.add_row(
            row.id, row.user, row.role, row.label, when(row.created_at), when(row.revoked_at)
        )
    console.print(table)


@tokens_app.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (relayflow tokens list)")],
    home: Home = None,
) -> None:
    """Revoke a token: it stops working at once."""
    from relayflow.users.store import UserError

    try:
        row = _tokens(home).revoke(token_id)
    except UserError as exc:
        fail(str(exc))
    console.print(f"token {row.id} of {row.user} revoked")


if __name__ == "__main__":
    app()
