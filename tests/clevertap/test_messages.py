"""Sending messages from runs: External Trigger campaigns, batched, with per-user results."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from relayflow.sandbox import SandboxServer

from .helpers import ACCOUNT, Installation

CAMPAIGN = 1695721550


def welcome_workflow(
    name: str, account: str = ACCOUNT, key_values: str = "", extra: str = ""
) -> str:
    values = key_values or '{Name: "{{ steps.trigger.event.body.name }}"}'
    return f"""
name: {name}
trigger:
  http: {{path: {name}}}
steps:
  - name: upsert
    uses: clevertap.upload_profile
    account: {account}
    with:
      identity: "{{{{ steps.trigger.event.body.user_id }}}}"
      name: "{{{{ steps.trigger.event.body.name }}}}"
  - name: welcome
    uses: clevertap.send_message
    account: {account}
    with:
      campaign_id: {CAMPAIGN}
      identities: "{{{{ steps.trigger.event.body.user_id }}}}"
      key_values: {values}
settings:
  concurrency: 100
"""


def signups(count: int, prefix: str) -> list[dict]:
    return [{"user_id": f"{prefix}-{i}", "name": f"User {i}"} for i in range(count)]


def sends(sandbox: SandboxServer) -> dict[str, int]:
    return {
        path: count
        for path, count in sandbox.stats()["requests"]["by_path"].items()
        if "externaltrigger" in path
    }


def test_each_signup_receives_its_own_welcome_message(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(welcome_workflow("welcome"))
    installation.post_many("welcome", signups(20, "w"))
    runs = installation.wait_finished("welcome", 20)

    assert {r["status"] for r in runs} == {"succeeded"}, [r["error"] for r in runs][:3]
    for i in (0, 7, 19):
        [message] = sandbox.messages(identity=f"w-{i}")
        assert message["campaign_id"] == CAMPAIGN
        assert message["content"] == {"Name": f"User {i}"}
    shown = installation.run(runs[0]["id"])["steps"][1]
    result = shown["return_value"]
    assert result["sent"] == 1 and result["users"][0]["status"] == "sent"
    assert shown["exports"]["$summary"] == f"Campaign {CAMPAIGN} sent to 1 of 1"
    # Personalised key-values differ per run: without a token each is its own request.
    assert sends(sandbox) == {"/1/send/externaltrigger.json": 20}


def test_the_same_message_to_many_runs_users_shares_requests(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(welcome_workflow("flash-sale", key_values='{Offer: "20% today"}'))
    installation.post_many("flash-sale", signups(60, "f"))
    runs = installation.wait_finished("flash-sale", 60)

    assert {r["status"] for r in runs} == {"succeeded"}
    assert len(sandbox.messages(limit="1000")) == 60
    requests = sends(sandbox)["/1/send/externaltrigger.json"]
    print(f"\n60 runs, one message: {requests} External Trigger requests")
    assert requests < 30


def test_with_a_token_personalised_sends_share_bulk_requests(
    installation: Installation, sandbox: SandboxServer
) -> None:
    with installation.api() as api:
        fields = {
            "account_id": sandbox.account_id,
            "passcode": sandbox.passcode,
            "endpoint": sandbox.url,
            "token": sandbox.tokens[sandbox.account_id],
        }
        body = {"app": "clevertap", "name": "ct-bulk", "fields": fields, "replace": True}
        assert api.post("/accounts", json=body).status_code == 201
    installation.deploy(welcome_workflow("welcome-bulk", account="ct-bulk"))
    installation.post_many("welcome-bulk", signups(60, "b"))
    runs = installation.wait_finished("welcome-bulk", 60)

    assert {r["status"] for r in runs} == {"succeeded"}
    assert sandbox.messages(identity="b-42")[0]["content"] == {"Name": "User 42"}
    found = sends(sandbox)
    assert "/1/send/externaltrigger.json" not in found
    print(f"\n60 personalised runs with a token: {found} requests")
    assert found["/2/send/externaltrigger.json"] < 30
    shown = installation.stored_run(runs[0]["id"])
    assert sandbox.tokens[sandbox.account_id] not in json.dumps(shown, default=str)


def test_a_user_without_a_profile_fails_the_step_with_who_and_why(
    installation: Installation, sandbox: SandboxServer
) -> None:
    user = "{{ steps.trigger.event.body.user_id }}"
    workflow = welcome_workflow("welcome-stranger").replace(
        f'identities: "{user}"', f'identities: ["{user}", "nobody-{user}"]'
    )
    installation.deploy(workflow)
    installation.post("welcome-stranger", {"user_id": "s-1", "name": "Sam"})
    (run,) = installation.wait_finished("welcome-stranger", 1)

    assert run["status"] == "failed"
    assert "did not send campaign 1695721550 to 1 of 2 users: identity 'nobody-s-1'" in run["error"]
    assert "upload the profile first" in run["error"]
    assert "allow_partial: true" in run["error"]
    assert len(sandbox.messages(identity="s-1")) == 1  # the known user still got it

    installation.deploy(workflow.replace("settings:", "      allow_partial: true\nsettings:"))
    installation.post("welcome-stranger", {"user_id": "s-2", "name": "Sue"})
    runs = installation.wait_finished("welcome-stranger", 2)
    assert runs[0]["status"] == "succeeded"


def test_values_clevertap_cannot_take_are_refused_before_sending(
    installation: Installation, sandbox: SandboxServer, tmp_path: Path
) -> None:
    installation.deploy(
        welcome_workflow("welcome-typed", key_values="{Points: 100, Profile: {Tier: gold}}")
    )
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"user_id": "t-1", "name": "Tia"}))
    result = installation.cli("test", "welcome-typed", "--event", str(event), check=False)

    assert result.returncode == 1
    assert (
        "steps.welcome.with: key_values.Profile is {'Tier': 'gold'}"
        in result.stdout + result.stderr
    )
    assert sends(sandbox) == {}
    assert httpx.get(f"{sandbox.url}/_sandbox/health").status_code == 200
