"""A CleverTap sandbox per module, reset before each test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from relayflow.sandbox import SandboxServer


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.reset()
    return sandbox_server
