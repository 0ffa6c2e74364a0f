"""Wrong passwords: a few per user name, a few more per address, then a clear 429."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conftest import Relayflow
from relayflow.users.signin_limit import SignInLimit

from .conftest import start_server

ADMIN_PASSWORD = "correct horse battery"
BOB_PASSWORD = "bob's long password"


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relayflow]:
    env = {"RELAYFLOW_ADMIN_PASSWORD": ADMIN_PASSWORD, "RELAYFLOW_SIGNIN_ADDRESS_ATTEMPTS": "8"}
    rf = start_server(tmp_path_factory.mktemp("signin") / "home", env)
    rf.cli("users", "add", "bob", "--password-stdin", input=BOB_PASSWORD + "\n")
    yield rf
    rf.stop_all()


def sign_in(rf: Relayflow, name: str, password: str) -> httpx.Response:
    return httpx.post(f"{rf.url}/login", data={"username": name, "password": password})


def test_wrong_passwords_hold_back_the_user_then_the_address(installation: Relayflow):
    rf = installation
    for _ in range(5):
        assert sign_in(rf, "admin", "guess").status_code == 401
    held = sign_in(rf, "admin", ADMIN_PASSWORD)  # the right one, too late
    assert held.status_code == 429
    assert "Too many wrong passwords for user &#39;admin&#39;: 5 in 15 minutes" in held.text
    assert "even the right password is refused" in held.text
    assert 800 < int(held.headers["retry-after"]) <= 900
    # another user from the same address still gets in ...
    assert sign_in(rf, "bob", BOB_PASSWORD).status_code == 303
    # ... until the address has 8 failures, whichever names they tried
    for name in ("carol", "dave", "erin"):
        assert sign_in(rf, name, "guess").status_code == 401
    refused = sign_in(rf, "bob", BOB_PASSWORD)
    assert refused.status_code == 429
    assert "Too many wrong passwords for address 127.0.0.1: 8 in 15 minutes" in refused.text


def test_failures_older_than_the_window_are_forgotten():
    now = [1000.0]
    limit = SignInLimit(per_user=2, per_address=10, window=60, clock=lambda: now[0])
    limit.failed("ann", "192.0.2.1")
    now[0] += 30
    limit.failed("ann", "192.0.2.1")
    refusal = limit.refusal("ann", "192.0.2.1")
    assert refusal is not None and refusal.seconds == 30
    now[0] += 30  # the first failure is now 60 s old
    assert limit.refusal("ann", "192.0.2.1") is None
    limit.succeeded("ann", "192.0.2.1")
    limit.failed("ann", "192.0.2.1")
    assert limit.refusal("ann", "192.0.2.1") is None
