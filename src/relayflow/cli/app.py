"""The `relayflow` command's shared parts: the Typer apps and how commands reach a home."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from relayflow.config import Config
from relayflow.console import fail

if TYPE_CHECKING:  # the runtime (the engine, aiohttp) loads only for commands that use it
    from relayflow.runtime import Runtime

app = typer.Typer(
    help="relayflow: self-hosted workflow automation with CleverTap built in.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
workflows_app = typer.Typer(help="List, show, pause and activate workflows.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(workflows_app, name="workflows", rich_help_panel="Workflows")
app.add_typer(db_app, name="db", rich_help_panel="Run relayflow")

T = TypeVar("T")


def _config(home: Path | None) -> Config:
    """The settings, with the egress rules checked (a setting or a rule that cannot be read
    stops here; the message names it)."""
    from relayflow.egress import EgressPolicy

    try:
        config = Config.load(home)
        EgressPolicy.from_env(config.listen)
    except ValueError as exc:
        fail(str(exc))
    return config


def _with_runtime(config: Config, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `work` with a runtime that executes nothing by itself (no worker, no scheduler)."""
    from relayflow.runtime import Runtime

    async def main() -> T:
        runtime = Runtime(config, worker=False, scheduler=False)
        await runtime.start()
        try:
            return await work(runtime)
        finally:
            await runtime.stop()

    return asyncio.run(main())


def _database(config: Config):
    from relayflow.store.database import Database

    db = Database(config.database_url)
    db.upgrade()
    return db
