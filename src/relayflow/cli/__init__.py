"""The `relayflow` command: run the platform, deploy workflows, test, inspect and replay runs.

Every command takes `--home DIR` and works on that installation's database directly, so
`deploy`, `runs` and `inspect` work whether or not `relayflow up` is running.
"""

from relayflow.cli import audit, doctor, processes, runs, sources, workflows  # noqa: F401 - register
from relayflow.cli.app import app


def _mount_groups() -> None:
    """Command groups that live beside their feature."""
    from relayflow.accounts.cli import app as accounts_app
    from relayflow.cli.imports import app as imports_app
    from relayflow.datastores.cli import app as stores_app
    from relayflow.sandbox.cli import app as sandbox_app
    from relayflow.users.cli import app as users_app
    from relayflow.users.cli import tokens_app

    app.add_typer(accounts_app, name="accounts", rich_help_panel="Accounts, data and people")
    app.add_typer(stores_app, name="stores", rich_help_panel="Accounts, data and people")
    app.add_typer(users_app, name="users", rich_help_panel="Accounts, data and people")
    app.add_typer(tokens_app, name="tokens", rich_help_panel="Accounts, data and people")
    app.add_typer(imports_app, name="import", rich_help_panel="Accounts, data and people")
    app.add_typer(sandbox_app, name="sandbox", rich_help_panel="Run relayflow")


_mount_groups()


def main() -> None:
    import logging

    from relayflow import audit as audit_log

    # Changes made from here (and by `up` itself, e.g. --demo) are the shell user's.
    audit_log.set_actor(audit_log.command_line_actor())

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app()
