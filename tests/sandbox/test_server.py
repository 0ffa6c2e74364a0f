"""The SandboxServer helper and the `clevertap` CLI command start real servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer

from relayflow.sandbox import SandboxServer
from relayflow.sandbox.cli import parse_accounts

from .helpers import upload


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_data_survives_a_restart_on_the_same_db(tmp_path: Path) -> None:
    db = tmp_path / "ct.sqlite3"
    record = {"type": "profile", "identity": "keep", "profileData": {"Name": "Kept"}}
    with (
        SandboxServer(db_path=db) as first,
        httpx.Client(base_url=first.url, headers=first.headers()) as api,
    ):
        upload(api, record)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{first.url}/_sandbox/health")
    with (
        SandboxServer(db_path=db) as second,
        httpx.Client(base_url=second.url, headers=second.headers()) as api,
    ):
        body = api.get("/1/profile.json", params={"identity": "keep"}).json()
    assert body["record"]["profileData"] == {"Name": "Kept"}


def test_default_account_and_temporary_db_are_removed_on_stop() -> None:
    with SandboxServer() as sandbox:
        assert sandbox.headers()["X-CleverTap-Account-Id"] == "TEST-RELAYFLOW"
        assert sandbox.headers()["X-CleverTap-Passcode"] == "sandbox-passcode"
        db = sandbox.db_path
        assert db.exists()
        assert httpx.get(f"{sandbox.url}/v1/connect", headers=sandbox.headers()).status_code == 200
    assert not db.exists()


def test_starting_on_a_busy_port_fails_clearly() -> None:
    with SandboxServer() as sandbox, pytest.raises(OSError, match="pick another port"):
        SandboxServer(port=sandbox.port).start()


def test_parse_accounts() -> None:
    assert parse_accounts(["A:b:c", "D:e"]) == {"A": "b:c", "D": "e"}
    assert parse_accounts([]) == {"TEST-RELAYFLOW": "sandbox-passcode"}
    with pytest.raises(typer.BadParameter, match="is not ID:PASSCODE"):
        parse_accounts(["nopasscode"])


def test_cli_serves_the_api_and_prints_urls(tmp_path: Path) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "relayflow.sandbox.cli",
        "clevertap",
        "--port",
        str(port),
        "--db",
        str(tmp_path / "cli.sqlite3"),
        "--account",
        "CLI-ACC:cli-pass",
        "--account",
        "CLI-TWO:two",
    ]
    env = {**os.environ, "COLUMNS": "200"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        url = f"http://127.0.0.1:{port}"
        headers = {"X-CleverTap-Account-Id": "CLI-TWO", "X-CleverTap-Passcode": "two"}
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(f"{url}/v1/connect", headers=headers)
                break
            except httpx.ConnectError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the CLI sandbox did not start"
                time.sleep(0.05)
        assert response.json() == {"status": "success"}
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"{url}/1/" in output
    assert f"dashboard {url}/" in output
    assert "CLI-ACC" in output and "CLI-TWO" in output
