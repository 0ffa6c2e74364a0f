"""Talking to a relayflow installation and a CleverTap sandbox over HTTP, as a user would."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from conftest import Relayflow  # tests/conftest.py: a real relayflow installation
from relayflow.sandbox import SandboxServer

ACCOUNT = "clevertap-demo"
FINAL = ("succeeded", "failed", "exited")


class Installation(Relayflow):
    """A relayflow installation with helpers that use its API (faster than the CLI)."""

    def add_account(self, name: str, sandbox: SandboxServer, passcode: str | None = None) -> dict:
        fields = {
            "account_id": sandbox.account_id,
            "passcode": passcode or sandbox.passcode,
            "endpoint": sandbox.url,
        }
        # A passcode of the test's own is a wrong one on purpose: save it untested.
        body = {"app": "clevertap", "name": name, "fields": fields, "replace": True}
        with self.api() as api:
            response = api.post("/accounts", json={**body, "test": passcode is None})
        assert response.status_code == 201, response.text
        return response.json()

    def deploy(self, source: str) -> dict:
        with self.api() as api:
            response = api.post("/workflows", content=source, headers={"content-type": "text/yaml"})
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any) -> httpx.Response:
        response = httpx.post(f"{self.url}/hooks/{path}", json=body, timeout=30)
        assert response.status_code == 200, response.text
        return response

    def post_many(self, path: str, bodies: list[Any]) -> None:
        """Send all events at once (concurrent requests), each acknowledged with 200."""

        async def send() -> list[int]:
            # One connection per event, so that they all really arrive at once.
            limits = httpx.Limits(max_connections=len(bodies))
            async with httpx.AsyncClient(base_url=self.url, timeout=60, limits=limits) as client:
                answers = await asyncio.gather(
                    *(client.post(f"/hooks/{path}", json=body) for body in bodies)
                )
            return [a.status_code for a in answers]

        assert asyncio.run(send()) == [200] * len(bodies)

    def workflow_runs(self, workflow: str) -> list[dict[str, Any]]:
        with self.api() as api:
            response = api.get("/runs", params={"workflow": workflow, "limit": 1000})
        assert response.status_code == 200, response.text
        return response.json()

    def wait_finished(self, workflow: str, count: int, timeout: float = 30) -> list[dict]:
        """Wait until `count` runs of `workflow` have finished; returns them, newest first."""
        deadline = time.monotonic() + timeout
        runs: list[dict] = []
        while time.monotonic() < deadline:
            runs = [r for r in self.workflow_runs(workflow) if r["status"] in FINAL]
            if len(runs) >= count:
                return runs
            time.sleep(0.1)
        states = [(r["status"], r["error"]) for r in self.workflow_runs(workflow)][:10]
        raise AssertionError(
            f"{workflow}: {len(runs)} of {count} runs finished; {states}\n{self.output()}"
        )

    def stored_run(self, run_id: str) -> dict[str, Any]:
        """A run as `relayflow inspect` shows it, read straight from the database file."""
        from relayflow.store import history
        from relayflow.store.database import Database

        found = history.get_run(Database(self.database_url), run_id)
        assert found is not None, run_id
        return found

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=10).text

    def run(self, run_id: str) -> dict[str, Any]:
        with self.api() as api:
            response = api.get(f"/runs/{run_id}")
        assert response.status_code == 200, response.text
        return response.json()


def profile(sandbox: SandboxServer, identity: str) -> dict[str, Any] | None:
    """The sandbox's profile.json record for `identity`, or None if there is none."""
    answer = httpx.get(
        f"{sandbox.url}/1/profile.json",
        params={"identity": identity},
        headers=sandbox.headers(),
        timeout=10,
    ).json()
    return answer["record"] if answer["status"] == "success" else None


def events(sandbox: SandboxServer, name: str) -> list[dict[str, Any]]:
    """Today's events named `name` in the sandbox, through its cursor API."""
    today = int(datetime.now(UTC).strftime("%Y%m%d"))
    with httpx.Client(base_url=sandbox.url, headers=sandbox.headers(), timeout=10) as api:
        query = {"event_name": name, "from": today, "to": today}
        cursor = api.post("/1/events.json", params={"batch_size": 5000}, json=query).json()
        page = api.get("/1/events.json", params={"cursor": cursor["cursor"]}).json()
    return page.get("records", [])
