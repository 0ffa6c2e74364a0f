"""Shared fixtures: real relayflow processes on 127.0.0.1, real SQLite files, real PostgreSQL.

PostgreSQL tests get a fresh database each (created and dropped here) on the server at
RELAYFLOW_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test). Without a
server they are skipped with the reason; `.ci/run` refuses to pass if any were skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from relayflow.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("RELAYFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
RELAYFLOW = [sys.executable, "-m", "relayflow.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means: no server to test against
        return f"no PostgreSQL at {PG_URL} ({exc.__class__.__name__}: {exc})"


@pytest.fixture(scope="session")
def pg_server() -> str:
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    return PG_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"relayflow_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_server.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def module_database(request: pytest.FixtureRequest, home: Path) -> Iterator[str]:
    """For a module-scoped installation parametrised by "sqlite" / "postgres": an SQLite
    file in `home`, or a fresh PostgreSQL database that is dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{home / 'relayflow.db'}"
        return
    import psycopg

    server = request.getfixturevalue("pg_server")
    name = f"relayflow_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test once on an SQLite file and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'relayflow.db'}"
    return request.getfixturevalue("pg_url")


class Relayflow:
    """A relayflow installation (home folder + database) and the processes run on it."""

    def __init__(self, home: Path, database_url: str, extra_env: dict[str, str] | None = None):
        self.home = home
        self.database_url = database_url
        self.env = {
            **os.environ,
            "RELAYFLOW_HOME": str(home),
            "RELAYFLOW_DATABASE_URL": database_url,
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.procs: list[subprocess.Popen] = []
        self.port: int | None = None
        self.logs: list[Path] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*RELAYFLOW, *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            command = " ".join(args)
            raise AssertionError(
                f"relayflow {command} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def deploy_text(self, name: str, text: str) -> subprocess.CompletedProcess:
        path = self.home / f"{name}.yaml"
        path.write_text(text)
        return self.cli("deploy", str(path))

    def spawn(self, *args: str) -> subprocess.Popen:
        log = self.home / f"proc-{len(self.procs)}.log"
        self.logs.append(log)
        proc = subprocess.Popen(
            [*RELAYFLOW, *args],
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def start(self, command: str = "up") -> subprocess.Popen:
        self.port = self.port or free_port()
        proc = self.spawn(command, "--port", str(self.port))
        self.wait_healthy(proc)
        return proc

    def wait_healthy(self, proc: subprocess.Popen, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"relayflow exited with {proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"relayflow did not become healthy:\n{self.output()}")

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in self.logs if p.exists())

    def api_token(self) -> str:
        return (self.home / "api-token").read_text().strip()

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"authorization": f"Bearer {self.api_token()}"},
            timeout=30,
        )

    def runs(self, *args: str) -> list[dict[str, Any]]:
        """What `relayflow runs --json ARGS` shows (newest first): read through the API
        while a server of this installation answers (a CLI process costs a second of CPU
        per call, and the tests poll), else with the CLI."""
        import json

        found = self._api_get("/runs", {"limit": API_PAGE, **_run_filters(args)})
        if found is not None and len(found) < API_PAGE:
            return found
        return json.loads(self.cli("runs", "--json", "--limit", "100000", *args).stdout)

    def inspect(self, run_id: str) -> dict[str, Any]:
        """What `relayflow inspect RUN_ID --json` shows: the run, its event and every
        step (through the API while a server answers, as `runs`)."""
        import json

        found = self._api_get(f"/runs/{run_id}", {})
        if found is not None:
            return found
        return json.loads(self.cli("inspect", run_id, "--json").stdout)

    def _api_get(self, path: str, params: dict[str, Any]) -> Any:
        """The API's answer while a server of this installation answers it, else None."""
        if self.port is None or not (self.home / "api-token").exists():
            return None
        headers = {"authorization": f"Bearer {self.api_token()}"}
        try:
            answer = httpx.get(
                f"{self.url}/api/v1{path}", params=params, headers=headers, timeout=10
            )
        except httpx.HTTPError:
            return None
        return answer.json() if answer.status_code == 200 else None

    def wait_finished(self, run_id: str, timeout: float = 60) -> dict[str, Any]:
        """The run (as `inspect` shows it) once it is neither queued nor running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.inspect(run_id)
            if run["status"] not in ("queued", "running"):
                return run
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} did not finish in {timeout:g}s:\n{self.output()}")

    def wait_runs(
        self, count: int, status: str = "succeeded", timeout: float = 60, workflow: str = ""
    ) -> list[dict]:
        """At least `count` runs in `status` (of one workflow, when named)."""
        deadline = time.monotonic() + timeout
        found: list[dict] = []
        while time.monotonic() < deadline:
            found = self.runs(*([workflow] if workflow else []), "--status", status)
            if len(found) >= count:
                return found
            time.sleep(0.2)
        raise AssertionError(
            f"expected {count} {status} runs, found {len(found)}; all: "
            f"{[(r['status'], r['error']) for r in self.runs()][:10]}\n{self.output()}"
        )

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


API_PAGE = 1000  # the most runs /api/v1/runs returns at once


def _run_filters(args: tuple[str, ...]) -> dict[str, str]:
    """`relayflow runs` arguments (WORKFLOW, --status S, --search T, --since P, --kind K)
    as the API's query parameters."""
    names = {"--status": "status", "--search": "q", "--since": "since"}
    found, rest = {}, list(args)
    while rest:
        arg = rest.pop(0)
        if arg in names:
            found[names[arg]] = rest.pop(0)
        elif arg == "--kind":
            found["test"] = {"live": "false", "test": "true"}[rest.pop(0)]
        elif arg.startswith("--"):
            raise ValueError(f"Relayflow.runs: {arg} has no API equivalent here")
        else:
            found["workflow"] = arg
    return found


@pytest.fixture
def relayflow(tmp_path: Path, database_url: str) -> Iterator[Relayflow]:
    """An installation on SQLite and on PostgreSQL (the test runs once for each)."""
    installation = Relayflow(tmp_path / "home", database_url)
    installation.home.mkdir()
    yield installation
    installation.stop_all()


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    """A CleverTap sandbox shared by a module's tests (folders may define their own)."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The module's sandbox, reset (no profiles, events or faults) before the test."""
    sandbox_server.reset()
    return sandbox_server
@contextlib.contextmanager
def platform_with_secrets(
    prefix: str,
    files: Callable[[Path], dict[str, str]],
    extra_env: dict[str, str] | None = None,
) -> Iterator[Relayflow]:
    """A running `relayflow up` on SQLite for code steps to attack: its home (mode 0700)
    lies outside /tmp, so a step's private /tmp is not what hides it, and has a connected
    account, so that secret.key is there to be stolen. `files(home)` gives the workflow
    files (path under a folder beside the home -> text), deployed in one `relayflow deploy`.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    home = root / "home"
    home.mkdir(mode=0o700)
    rf = Relayflow(home, f"sqlite:///{home / 'relayflow.db'}", extra_env)
    for name, text in files(home).items():
        (root / "flows" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "flows" / name).write_text(text)
    try:
        rf.cli("deploy", str(root / "flows"))
        rf.cli(
            "accounts", "add", "clevertap", "ct", "--account-id", "A", "--passcode", "pass",
            "--no-test",
        )  # fmt: skip
        rf.start()
        yield rf
    finally:
        rf.stop_all()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def sqlite_relayflow(tmp_path: Path) -> Iterator[Relayflow]:
    """An installation on its embedded SQLite database only."""
    home = tmp_path / "home"
    home.mkdir()
    installation = Relayflow(home, f"sqlite:///{home / 'relayflow.db'}")
    yield installation
    installation.stop_all()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With RELAYFLOW_NO_SKIPS=1 (set by .ci/run), a skipped test fails the session."""
    if os.environ.get("RELAYFLOW_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reasons = sorted({str(getattr(r, "longrepr", ""))[-200:] for r in skipped})
        reporter.write_line(
            f"RELAYFLOW_NO_SKIPS=1: {len(skipped)} tests were skipped; CI must run them all:"
        )
        for reason in reasons:
            reporter.write_line(f"  {reason}")
        session.exitstatus = 1
