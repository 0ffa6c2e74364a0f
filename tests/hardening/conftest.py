"""One relayflow server per module for the hardening tests (each test sends a few requests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Relayflow
from test_http_trigger import ECHO


def start_server(home: Path, env: dict[str, str] | None = None) -> Relayflow:
    """An SQLite installation with an open hook (`open`) and a token one (`locked`)."""
    home.mkdir()
    rf = Relayflow(
        home, f"sqlite:///{home / 'relayflow.db'}", {"RELAYFLOW_WORKERS": "0", **(env or {})}
    )
    rf.deploy_text("open", ECHO.format(name="open", path="open", extra=""))
    rf.deploy_text(
        "locked",
        ECHO.format(name="locked", path="locked", extra="    auth: token\n    token: s3cret-token"),
    )
    rf.start()
    return rf


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relayflow]:
    rf = start_server(tmp_path_factory.mktemp("hardening") / "home")
    yield rf
    rf.stop_all()
