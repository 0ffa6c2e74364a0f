"""One relayflow installation per database (SQLite, then a fresh PostgreSQL database),
shared by a module's tests: every app's source deployed on it, with its account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Relayflow, module_database

from .helpers import ACCOUNTS, SECRETS, WORKFLOWS


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def installation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Relayflow]:
    home: Path = tmp_path_factory.mktemp("sources") / "home"
    home.mkdir()
    with module_database(request, home) as url:
        found = Relayflow(home, url, extra_env={"SIGNED_HOOK_SECRET": SECRETS["standard"]})
        for app, (name, args) in ACCOUNTS.items():
            found.cli("accounts", "add", app, name, *args)
        for name, text in WORKFLOWS.items():
            found.deploy_text(name, text)
        found.start()
        yield found
        found.stop_all()
