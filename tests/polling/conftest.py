"""An installation per database (SQLite, then a fresh PostgreSQL database) shared by a
module's tests, and a folder for each test's files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Relayflow, module_database


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def installation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Relayflow]:
    """Started: tests deploy their workflows onto the running server."""
    home: Path = tmp_path_factory.mktemp("polling") / "home"
    home.mkdir()
    with module_database(request, home) as url:
        found = Relayflow(home, url)
        found.start()
        yield found
        found.stop_all()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A folder for a test's files, outside relayflow's home."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def sqlite_installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relayflow]:
    """One started installation on SQLite, for sources whose database does not matter."""
    home: Path = tmp_path_factory.mktemp("polling") / "home"
    home.mkdir()
    found = Relayflow(home, f"sqlite:///{home / 'relayflow.db'}")
    found.start()
    yield found
    found.stop_all()
