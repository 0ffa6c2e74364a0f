"""The egress policy: http.request, code steps and app clients refuse what it denies
(cloud metadata, relayflow's own address and port, RELAYFLOW_EGRESS_DENY), after DNS and
on every redirect, with a step error that names the rule; the rest of loopback stays open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Relayflow

from .web import Web

FETCH = """
name: fetch
trigger: {http: {path: fetch}}
steps:
  - name: get
    uses: http.request
    with:
      url: "{{ steps.trigger.event.body.url }}"
settings: {retries: {max: 0}}
"""

CODE = """
name: code-fetch
trigger: {http: {path: code-fetch}}
steps:
  - name: get
    code: |
      import urllib.request
      def handler(pd):
          with urllib.request.urlopen(pd.steps["trigger"]["event"]["body"]["url"], timeout=5) as r:
              return r.read().decode()
settings: {retries: {max: 0}}
"""


@pytest.fixture(scope="module")
def webs() -> Iterator[tuple[Web, Web]]:
    """(open, blocked): two servers on loopback; the installation denies the second's port."""
    found = Web(), Web()
    yield found
    for web in found:
        web.close()


@pytest.fixture(scope="module")
def installation(
    tmp_path_factory: pytest.TempPathFactory, webs: tuple[Web, Web], sandbox_server: Any
) -> Iterator[Relayflow]:
    home: Path = tmp_path_factory.mktemp("egress") / "home"
    home.mkdir()
    blocked = webs[1].port
    rf = Relayflow(home, f"sqlite:///{home / 'relayflow.db'}")
    rf.env["RELAYFLOW_EGRESS_DENY"] = (
        f"127.0.0.1:{blocked}, *.blocked.test, 127.0.0.1:{sandbox_server.port}"
    )
    rf.start()
    with rf.api() as api:
        for source in (FETCH, CODE):
            answer = api.post("/workflows", content=source, headers={"content-type": "text/yaml"})
            assert answer.status_code == 200, answer.text
    yield rf
    rf.stop_all()


def test_run(rf: Relayflow, workflow: str, url: str) -> dict[str, Any]:
    """The workflow's one step, run now (in the server process) on {"url": url}."""
    with rf.api() as api:
        answer = api.post(f"/workflows/{workflow}/test", json={"event": {"body": {"url": url}}})
    assert answer.status_code == 200, answer.text
    (step,) = answer.json()["steps"]
    return step


test_run.__test__ = False  # a helper, not a test


def message(step: dict[str, Any]) -> str:
    assert step["status"] == "failed", step
    return step["error"]["message"]


def test_http_request_refuses_cloud_metadata_and_denied_addresses(installation, webs):
    open_web, blocked = webs
    reached = test_run(installation, "fetch", f"{open_web.url}/x")
    assert reached["status"] == "succeeded"
    assert reached["return_value"]["body"] == {"reached": True}

    metadata = message(test_run(installation, "fetch", "http://169.254.169.254/latest/meta-data"))
    assert "egress refused: 169.254.169.254 port 80" in metadata
    assert "169.254.0.0/16 (the default: link-local and cloud metadata)" in metadata
    denied = message(test_run(installation, "fetch", f"{blocked.url}/x"))
    assert f"deny rule 127.0.0.1:{blocked.port} (RELAYFLOW_EGRESS_DENY)" in denied
    by_name = message(test_run(installation, "fetch", "http://api.blocked.test/x"))
    assert "api.blocked.test port 80 matches the deny rule *.blocked.test" in by_name


def test_the_check_is_after_dns_and_on_every_redirect(installation, webs):
    open_web, blocked = webs
    # localhost is a name; what it resolves to (127.0.0.1 at the blocked port) is denied.
    resolved = message(test_run(installation, "fetch", f"http://localhost:{blocked.port}/x"))
    assert f"localhost (127.0.0.1) port {blocked.port}" in resolved
    assert f"127.0.0.1:{blocked.port} (RELAYFLOW_EGRESS_DENY)" in resolved
    redirected = f"{open_web.url}/redirect?to={blocked.url}/x"
    assert f"127.0.0.1:{blocked.port}" in message(test_run(installation, "fetch", redirected))
    to_metadata = f"{open_web.url}/redirect?to=http://169.254.169.254/"
    assert "169.254.0.0/16" in message(test_run(installation, "fetch", to_metadata))
    fine = test_run(installation, "fetch", f"{open_web.url}/redirect?to={open_web.url}/y")
    assert fine["status"] == "succeeded"


def test_a_live_run_in_a_worker_process_cannot_call_relayflows_own_port(installation):
    rf = installation
    import httpx

    sent = httpx.post(f"{rf.url}/hooks/fetch", json={"url": f"{rf.url}/healthz"})
    assert sent.status_code == 200
    run = rf.wait_finished(sent.json()["run_id"], timeout=30)
    assert run["status"] == "failed"
    error = run["steps"][0]["error"]["message"]
    assert f"127.0.0.1:{rf.port} (the default: relayflow's own listening address)" in error
    assert run["steps"][0]["attempts"] == 1  # a refusal is not retried


def test_code_steps_follow_the_policy(installation, webs):
    open_web, blocked = webs
    reached = test_run(installation, "code-fetch", f"{open_web.url}/x")
    assert reached["status"] == "succeeded", reached
    assert json.loads(reached["return_value"]) == {"reached": True}
    denied = message(test_run(installation, "code-fetch", f"{blocked.url}/x"))
    assert f"127.0.0.1:{blocked.port} (RELAYFLOW_EGRESS_DENY)" in denied
    metadata = message(test_run(installation, "code-fetch", "http://169.254.169.254/"))
    assert "169.254.0.0/16 (the default" in metadata
    own = message(test_run(installation, "code-fetch", f"{installation.url}/healthz"))
    assert "relayflow's own listening address" in own


def test_app_clients_follow_the_policy(installation, sandbox):
    fields = {
        "account_id": sandbox.account_id,
        "passcode": sandbox.passcode,
        "endpoint": sandbox.url,
    }
    with installation.api() as api:
        refused = api.post("/accounts", json={"app": "clevertap", "name": "ct", "fields": fields})
    assert refused.status_code == 422, refused.text
    reason = refused.json()["detail"]["reason"]
    assert f"deny rule 127.0.0.1:{sandbox.port} (RELAYFLOW_EGRESS_DENY)" in reason
