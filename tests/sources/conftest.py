"""One relayflow installation per database (SQLite, then a fresh PostgreSQL database),
shared by a module's tests: every app's source deployed on it, with its account."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Relayflow

from .helpers import ACCOUNTS, SECRETS, WORKFLOWS


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def installation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Relayflow]:
    home: Path = tmp_path_factory.mktemp("sources") / "home"
    home.mkdir()
    dropped = None
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'relayflow.db'}"
    else:
        import psycopg

        server = request.getfixturevalue("pg_server")
        name = f"relayflow_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url, dropped = f"{server.rsplit('/', 1)[0]}/{name}", (server, name)
    found = Relayflow(home, url, extra_env={"SIGNED_HOOK_SECRET": SECRETS["standard"]})
    for app, (name, args) in ACCOUNTS.items():
        found.cli("accounts", "add", app, name, *args)
    for name, text in WORKFLOWS.items():
        found.deploy_text(name, text)
    found.start()
    yield found
    found.stop_all()
    if dropped is not None:
        import psycopg

        with psycopg.connect(dropped[0], autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dropped[1]}" WITH (FORCE)')
