"""One real sandbox server per test module on 127.0.0.1, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from relayflow.sandbox import SandboxServer

ACCOUNTS = {"ACC-ONE": "pass-one", "ACC-TWO": "pass-two"}


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(accounts=ACCOUNTS) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """An HTTP client for the first account's CleverTap API."""
    with httpx.Client(base_url=sandbox.url, headers=sandbox.headers(), timeout=10) as client:
        yield client


@pytest.fixture
def api_two(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """An HTTP client for the second account."""
    headers = sandbox.headers("ACC-TWO")
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10) as client:
        yield client
