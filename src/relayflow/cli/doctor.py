"""`relayflow doctor`: whether this installation is safe and ready, and what to fix if not.

Each check is cheap and changes nothing: the code-step sandbox (one probe), whether Node.js
steps can run (node and npm), whether the database answers and its schema is current, who
can read the home and its key files, and each app's advice on how its accounts are used
(e.g. CleverTap sends that cannot share a request without the account's token).
Exit code 1 when a check failed; warnings alone exit 0.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text

from relayflow.cli.app import _config, app
from relayflow.codestep import detect
from relayflow.codestep.node import NodeRuntime
from relayflow.config import Config
from relayflow.console import AsJson, Home, console, print_json

KEY_FILES = ("secret.key", "links.key", "api-token")  # what the home holds that must stay 0600
MARKS = {"ok": "[green]ok[/]", "warn": "[yellow]warning[/]", "fail": "[red]FAILED[/]"}


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str


def code_steps(config: Config) -> Check:
    isolation = detect(config.bwrap, hidden=config.private_paths)
    status = isolation.status(config.unsafe_code_steps)
    if isolation.available:
        return Check("code-step sandbox", "ok", status)
    return Check("code-step sandbox", "warn" if config.unsafe_code_steps else "fail", status)


def node_steps() -> Check:
    """Node.js code steps are optional: without node they fail with the fix, others run."""
    runtime = NodeRuntime()
    problem = runtime.problem()
    if problem:
        return Check("Node.js code steps", "warn", problem)
    try:
        argv = [runtime.node, "--version"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        version = done.stdout.strip() or done.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("Node.js code steps", "warn", f"{runtime.node} --version failed: {exc}")
    npm = shutil.which("npm")
    packages = "npm installs packages:" if npm else "no npm: workflows with packages: fail"
    return Check("Node.js code steps", "ok", f"node {version} ({runtime.node}); {packages}")


def database(config: Config) -> list[Check]:
    from relayflow.store.database import Database

    db = Database(config.database_url)
    where = db.path if not db.is_postgres else config.database_url.rsplit("@", 1)[-1]
    if not db.is_postgres and not Path(db.path).exists():
        detail = f"no database at {db.path} yet; `relayflow up` or `relayflow db upgrade` makes it"
        return [Check("database", "warn", detail)]
    try:
        current, head = db.migration_state()
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the finding
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Check("database", "fail", f"{db.dialect} at {where} does not answer: {reason}")]
    reachable = Check("database", "ok", f"{db.dialect} at {where} answers")
    if current == head:
        return [reachable, Check("migrations", "ok", f"schema is current ({head})")]
    detail = f"schema is at {current or 'nothing'}, the newest is {head}"
    detail += "; run `relayflow db upgrade`"
    return [reachable, Check("migrations", "fail", detail)]


def home_permissions(config: Config) -> Check:
    """The home, its key files and the SQLite database must not be readable by other
    users of the machine."""
    problems = []
    mode = stat.S_IMODE(config.home.stat().st_mode)
    if mode & 0o077:
        problems.append(f"{config.home} is mode {mode:04o} (chmod 700 {config.home})")
    private = [config.home / name for name in KEY_FILES]
    if config.database_url.startswith("sqlite:///"):
        database = config.database_url[len("sqlite:///") :]
        private += [Path(database + suffix) for suffix in ("", "-wal", "-shm")]
    for path in private:
        if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            problems.append(
                f"{path} is mode {stat.S_IMODE(path.stat().st_mode):04o} (chmod 600 {path})"
            )
    if not problems:
        detail = f"{config.home}, its key files and database are private"
        return Check("home permissions", "ok", detail)
    keys_open = any("chmod 600" in p for p in problems)
    return Check("home permissions", "fail" if keys_open else "warn", "; ".join(problems))


def account_advice(config: Config) -> list[Check]:
    """Each app's advice on how its connected accounts are used (`App.advise`), as warnings.
    Nothing when the database is not there yet or does not answer (its own check says so)."""
    from relayflow.accounts.advice import account_advice as advice
    from relayflow.accounts.store import AccountStore
    from relayflow.store.database import Database

    db = Database(config.database_url)
    if not db.is_postgres and not Path(db.path).exists():
        return []
    store = AccountStore(db, config)
    try:
        found = advice(store)
    except Exception:  # noqa: BLE001 - the database check reports why
        return []
    return [
        Check(f"{store.apps[account.app].title} account {account.name}", "warn", line)
        for account, lines in found
        for line in lines
    ]


def egress_policy(config: Config) -> Check:
    """What steps may not connect to (the rules parsed already: `_config` checks them)."""
    from relayflow.egress import EgressPolicy

    return Check("egress policy", "ok", EgressPolicy.from_env(config.listen).describe())


@app.command(rich_help_panel="Run relayflow")
def doctor(home: Home = None, as_json: AsJson = False) -> None:
    """Check this installation: code-step sandbox, Node.js, database, migrations, home
    permissions, the egress policy, and advice on how connected accounts are used."""
    import typer

    config = _config(home)
    checks = [
        code_steps(config),
        node_steps(),
        *database(config),
        home_permissions(config),
        egress_policy(config),
        *account_advice(config),
    ]
    if as_json:
        print_json([asdict(c) for c in checks])
    else:
        table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
        for check in checks:
            table.add_row(check.name, MARKS[check.status], Text(check.detail))
        console.print(table)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)
