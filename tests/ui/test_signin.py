"""Who gets in: sessions, CSRF on the API, the first-run setup link, `relayflow users`.

These talk HTTP with httpx (no browser needed).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import Relayflow
from relayflow.config import Config
from relayflow.runtime import Runtime
from relayflow.users import first_run_message

from .helpers import ADMIN_PASSWORD

WORKFLOW = "name: signed-in\ntrigger: {manual: {}}\nsteps: []\n"


def signed_in_client(installation: Relayflow) -> tuple[httpx.Client, str]:
    """A client holding admin's session cookie, and the session's CSRF token."""
    client = httpx.Client(base_url=installation.url, timeout=30)
    answer = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert answer.status_code == 303, answer.text
    page = client.get("/workflows").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert csrf, page
    return client, csrf.group(1)


def test_pages_need_a_session_and_the_api_a_token_or_a_session_with_its_csrf_header(
    installation: Relayflow,
) -> None:
    anonymous = httpx.get(f"{installation.url}/runs/abc?x=1")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=%2Fruns%2Fabc%3Fx%3D1"
    assert httpx.get(f"{installation.url}/api/v1/runs").status_code == 401

    client, csrf = signed_in_client(installation)
    assert client.get("/api/v1/workflows").status_code == 200
    # A cookie alone cannot change anything: another site could have sent it.
    refused = client.post("/api/v1/workflows", json={"source": WORKFLOW})
    assert refused.status_code == 403
    assert "X-Relayflow-CSRF" in refused.json()["detail"]
    wrong = client.post(
        "/api/v1/workflows", json={"source": WORKFLOW}, headers={"X-Relayflow-CSRF": "x"}
    )
    assert wrong.status_code == 403
    done = client.post(
        "/api/v1/workflows", json={"source": WORKFLOW}, headers={"X-Relayflow-CSRF": csrf}
    )
    assert done.status_code == 200, done.text
    # UI forms carry the token as a field.
    assert client.post("/workflows/signed-in/duplicate", data={}).status_code == 403

    # The token still works on its own; signing out ends the session.
    with installation.api() as api:
        assert api.get("/workflows/signed-in").status_code == 200
    cookie = client.cookies.get("relayflow_session")
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    client.close()
    for value in (cookie, "not-a-session"):
        with httpx.Client(base_url=installation.url) as stale:
            stale.cookies.set("relayflow_session", value)
            assert stale.get("/api/v1/workflows").status_code == 401
            assert stale.get("/workflows").status_code == 303


def test_the_session_cookie_is_httponly_and_never_followed_off_site(
    installation: Relayflow,
) -> None:
    with httpx.Client(base_url=installation.url) as client:
        answer = client.post(
            "/login",
            data={"username": "admin", "password": ADMIN_PASSWORD, "next": "//evil.example/"},
        )
        assert answer.headers["location"] == "/workflows"
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        page = client.get("/workflows")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert float(page.headers["server-timing"].split("dur=")[1]) < 1000


def test_the_first_start_prints_a_one_time_setup_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELAYFLOW_ADMIN_PASSWORD", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    url = f"sqlite:///{home / 'relayflow.db'}"
    monkeypatch.setenv("RELAYFLOW_DATABASE_URL", url)
    runtime = Runtime(Config.load(home), worker=False, scheduler=False)
    message = first_run_message(runtime)
    assert message is not None
    token = re.search(r"/setup\?token=(\S+)", message)
    assert token, message
    runtime.db.close()

    installation = Relayflow(home, url)
    installation.start()
    try:
        # `relayflow up` prints a fresh link while nobody has signed up: the older one is void.
        printed = re.search(r"/setup\?token=(\S+)", installation.output())
        assert printed, installation.output()
        assert printed.group(1) != token.group(1)
        token = printed
        with httpx.Client(base_url=installation.url) as client:
            login = client.get("/login").text
            assert "Open the one-time setup link" in login
            assert client.get("/setup?token=wrong").status_code == 410
            assert client.get(f"/setup?token={token.group(1)}").status_code == 200
            form = {"token": token.group(1), "username": "ann", "password": "long-enough-1"}
            mismatch = client.post("/setup", data={**form, "confirm": "something-else"})
            assert mismatch.status_code == 400 and "differ" in mismatch.text
            done = client.post("/setup", data={**form, "confirm": "long-enough-1"})
            assert done.status_code == 303 and done.headers["location"] == "/workflows"
            assert client.get("/workflows").status_code == 200
            # The link works once.
            again = client.get(f"/setup?token={token.group(1)}")
            assert again.status_code == 410 and "already set up" in again.text
    finally:
        installation.stop_all()
    assert first_run_message(Runtime(Config.load(home), worker=False, scheduler=False)) is None


def test_relayflow_users_adds_lists_changes_and_removes_users(
    installation: Relayflow,
) -> None:
    def users(*args: str, password: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "relayflow.users.cli", *args],
            env=installation.env,
            input=password,
            capture_output=True,
            text=True,
            timeout=60,
        )

    added = users("add", "bob@example.com", "--password-stdin", password="first-pass-1\n")
    assert added.returncode == 0, added.stderr
    listed = json.loads(users("list", "--json").stdout)
    assert [u["name"] for u in listed] == ["admin", "bob@example.com"]
    short = users("add", "carol", "--password-stdin", password="short\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr

    def can_sign_in(password: str) -> bool:
        with httpx.Client(base_url=installation.url) as client:
            answer = client.post(
                "/login", data={"username": "bob@example.com", "password": password}
            )
            return answer.status_code == 303

    assert can_sign_in("first-pass-1")
    changed = users("password", "bob@example.com", "--password-stdin", password="second-pass-2\n")
    assert changed.returncode == 0, changed.stderr
    assert not can_sign_in("first-pass-1") and can_sign_in("second-pass-2")
    assert users("remove", "bob@example.com").returncode == 0
    assert not can_sign_in("second-pass-2")
    last = users("remove", "admin")
    assert last.returncode == 1 and "only user" in last.stderr
