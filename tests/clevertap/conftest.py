"""A CleverTap sandbox per module, and one relayflow installation connected to it.

The installation (a real `relayflow up` on SQLite) is shared by a module's tests to keep
the folder fast; each test deploys its own workflows, and the sandbox is reset before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from relayflow.sandbox import SandboxServer

from .helpers import ACCOUNT, Installation


@pytest.fixture(scope="module")
def installation(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: SandboxServer
) -> Iterator[Installation]:
    """`relayflow up` with the account `clevertap-demo` pointing at the sandbox.

    Its CleverTap client gives up retrying after 3 s (RELAYFLOW_CLEVERTAP_RETRY_SECONDS),
    so the tests of the engine's durable retries run in seconds.
    """
    home: Path = tmp_path_factory.mktemp("relayflow") / "home"
    home.mkdir()
    found = Installation(home, f"sqlite:///{home / 'relayflow.db'}")
    found.env["RELAYFLOW_CLEVERTAP_RETRY_SECONDS"] = "3"
    found.start()
    found.add_account(ACCOUNT, sandbox_server)
    yield found
    found.stop_all()
