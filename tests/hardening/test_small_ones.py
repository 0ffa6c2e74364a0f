"""X-Forwarded-For only from trusted proxies; a private home and database."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import RELAYFLOW, Relayflow

from .conftest import start_server


def client_ip_of_a_hook_event(rf: Relayflow, forwarded: str) -> str:
    answer = httpx.post(
        f"{rf.url}/hooks/open", json={"a": 1}, headers={"x-forwarded-for": forwarded}
    )
    assert answer.status_code == 200, answer.text
    return rf.inspect(answer.json()["run_id"])["event"]["client_ip"]


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(server: Relayflow):
    assert client_ip_of_a_hook_event(server, "203.0.113.7") == "127.0.0.1"


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relayflow]:
    env = {"RELAYFLOW_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}
    rf = start_server(tmp_path_factory.mktemp("proxy") / "home", env)
    yield rf
    rf.stop_all()


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(behind_proxy: Relayflow):
    rf = behind_proxy
    assert client_ip_of_a_hook_event(rf, "203.0.113.7") == "203.0.113.7"
    # what the client wrote itself (left of the first untrusted address) is not believed
    assert client_ip_of_a_hook_event(rf, "198.51.100.1, 203.0.113.7, 10.1.2.3") == "203.0.113.7"


def test_an_unreadable_trusted_proxies_setting_is_named(tmp_path: Path):
    env = {**os.environ, "RELAYFLOW_HOME": str(tmp_path / "home")}
    env["RELAYFLOW_TRUSTED_PROXIES"] = "10.0.0.0/8,proxy.local"
    result = subprocess.run(
        [*RELAYFLOW, "runs"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "RELAYFLOW_TRUSTED_PROXIES: 'proxy.local' is not an address or CIDR" in result.stderr


def test_a_new_home_is_0700_and_its_database_0600(tmp_path: Path):
    home = tmp_path / "new-home"
    env = {**os.environ, "RELAYFLOW_HOME": str(home)}
    env.pop("RELAYFLOW_DATABASE_URL", None)
    old = os.umask(0o022)  # the usual umask, which would make them 0755 and 0644
    try:
        subprocess.run(
            [*RELAYFLOW, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "relayflow.db").stat().st_mode) == 0o600


def test_the_running_servers_database_files_are_0600(server: Relayflow):
    files = [server.home / f"relayflow.db{suffix}" for suffix in ("", "-wal", "-shm")]
    modes = {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in files if f.exists()}
    assert "relayflow.db" in modes
    assert set(modes.values()) == {"0o600"}, modes
