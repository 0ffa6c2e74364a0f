"""Run the sandbox in a background thread, for tests and benchmarks.

with SandboxServer() as sandbox:
    httpx.post(f"{sandbox.url}/1/upload", headers=sandbox.headers(), json={"d": [...]})
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

import httpx
import uvicorn
from starlette.applications import Starlette

from relayflow.sandbox.app import DEFAULT_ACCOUNTS, DEFAULT_TOKEN, create_app


class SandboxServer:
    """A CleverTap sandbox on a real port, served by uvicorn in a daemon thread.

    `port=0` picks a free port. Without `db_path` the data lives in a temporary folder that
    is removed on stop. The helper methods talk to the running server over HTTP.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: dict[str, str] | None = None,
        db_path: str | Path | None = None,
        error_rate: float = 0.0,
        latency_ms: int = 0,
        fail_next: int = 0,
        seed: int | None = None,
        concurrency_limit: int | None = None,
        tokens: dict[str, str] | None = None,
        log_level: str = "warning",
        startup_timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.accounts = dict(accounts or DEFAULT_ACCOUNTS)
        self._db_path = db_path
        self._app_settings = {
            "error_rate": error_rate,
            "latency_ms": latency_ms,
            "fail_next": fail_next,
            "seed": seed,
        }
        if concurrency_limit is not None:
            self._app_settings["concurrency_limit"] = concurrency_limit
        self.tokens = (
            dict(tokens) if tokens is not None else dict.fromkeys(self.accounts, DEFAULT_TOKEN)
        )
        self._app_settings["tokens"] = self.tokens
        self._log_level = log_level
        self._startup_timeout = startup_timeout
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.app: Starlette | None = None

    @property
    def url(self) -> str:
        """Base URL: the API is at `{url}/1/...`, the dashboard at `{url}/`."""
        return f"http://{self.host}:{self.port}"

    @property
    def dashboard_url(self) -> str:
        return f"{self.url}/"

    @property
    def account_id(self) -> str:
        """The first account's ID."""
        return next(iter(self.accounts))

    @property
    def passcode(self) -> str:
        return self.accounts[self.account_id]

    @property
    def db_path(self) -> Path:
        if self._db_path is None:
            raise RuntimeError("The sandbox has no database yet; start it first")
        return Path(self._db_path)

    def messages(self, account: str | None = None, **lookup: str) -> list[dict[str, Any]]:
        """GET /_sandbox/messages: what the sandbox 'sent', newest first (optionally to
        one user: identity=, email= or objectId=)."""
        params = {"account": account or self.account_id, **lookup}
        url = f"{self.url}/_sandbox/messages"
        response = httpx.get(url, params=params, timeout=10, trust_env=False)
        if response.status_code != 200:
            raise RuntimeError(
                f"/_sandbox/messages answered {response.status_code}: {response.text}"
            )
        return response.json()["messages"]

    def headers(self, account: str | None = None) -> dict[str, str]:
        """CleverTap auth headers for `account` (default: the first account)."""
        account = account or self.account_id
        return {
            "X-CleverTap-Account-Id": account,
            "X-CleverTap-Passcode": self.accounts[account],
            "Content-Type": "application/json; charset=utf-8",
        }

    def start(self) -> Self:
        """Start serving and return once the server answers; raise if it cannot."""
        if self._thread is not None:
            raise RuntimeError("This SandboxServer is already running; stop it first")
        try:
            self._launch()
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self) -> None:
        if self._db_path is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="relayflow-sandbox-")
            self._db_path = Path(self._tmpdir.name) / "clevertap.sqlite3"
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((self.host, self.port))
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"Cannot listen on {self.host}:{self.port} ({exc.strerror}); "
                "pick another port, or port=0 for a free one",
            ) from exc
        self.port = self._socket.getsockname()[1]
        self.app = create_app(self._db_path, self.accounts, **self._app_settings)
        config = uvicorn.Config(
            self.app,
            log_level=self._log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"relayflow-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _wait_until_ready(self) -> None:
        assert self._server is not None and self._thread is not None
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise RuntimeError(
                    f"The sandbox on {self.url} stopped while starting; run with "
                    "log_level='info' to see why"
                )
            if self._server.started:
                try:
                    url = f"{self.url}/_sandbox/health"
                    httpx.get(url, timeout=2, trust_env=False).raise_for_status()
                    return
                except httpx.HTTPError:
                    pass
            time.sleep(0.01)
        raise RuntimeError(
            f"The sandbox did not answer on {self.url} within {self._startup_timeout} s"
        )

    def stop(self) -> None:
        """Stop the server and wait for its thread; safe to call twice."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout=5)
        self._cleanup()

    def _cleanup(self) -> None:
        if self.app is not None:
            # Lifespan shutdown closes the store too; closing again is harmless and covers a
            # server that never started or was force-exited.
            self.app.state.sandbox.store.close()
            self.app = None
        if self._socket is not None:
            self._socket.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
            self._db_path = None
        self._server = None
        self._thread = None
        self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- helpers over HTTP ------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """GET /_sandbox/stats: requests received, records per upload, peak concurrency."""
        return self._admin("GET", "stats")

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Change faults on the running server: error_rate, latency_ms, status, fail_next, seed."""
        return self._admin("POST", "faults", faults)["faults"]

    def reset(self, *what: str, account: str | None = None) -> None:
        """Wipe data, stats and faults (or only those named) back to how the server started."""
        body: dict[str, Any] = {"what": list(what)} if what else {}
        if account is not None:
            body["account"] = account
        self._admin("POST", "reset", body)

    def _admin(self, method: str, name: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.url}/_sandbox/{name}"
        response = httpx.request(method, url, json=body, timeout=10, trust_env=False)
        if response.status_code != 200:
            raise RuntimeError(f"/_sandbox/{name} answered {response.status_code}: {response.text}")
        return response.json()
