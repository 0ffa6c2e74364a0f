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
        found.start()
        # Through the API, not the CLI: a CLI process costs over a second of CPU each.
        with found.api() as api:
            for app, (name, args) in ACCOUNTS.items():
                body = {"app": app, "name": name, "fields": _fields(args), "test": False}
                added = api.post("/accounts", json=body)
                assert added.status_code == 201, added.text
            for text in WORKFLOWS.values():
                deployed = api.post("/workflows", json={"source": text})
                assert deployed.status_code == 200, deployed.text
        yield found
        found.stop_all()


def _fields(flags: list[str]) -> dict[str, str]:
    """`relayflow accounts add` flags (`--webhook-secret S`) as the API's account fields."""
    values = [flag for flag in flags if flag != "--no-test"]
    return {
        values[i].removeprefix("--").replace("-", "_"): values[i + 1]
        for i in range(0, len(values), 2)
    }
