"""Anonymous and guest users: uploads keyed by CleverTap ID (objectId) or by email."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from relayflow.sandbox import SandboxServer

from .helpers import ACCOUNT, Installation, profile

GUEST_CHECKOUT = f"""
name: guest-checkout
trigger:
  http: {{path: guest-checkout}}
steps:
  - name: contact
    uses: clevertap.upload_profile
    account: {ACCOUNT}
    with:
      email: "{{{{ steps.trigger.event.body.email }}}}"
      name: "{{{{ steps.trigger.event.body.name }}}}"
  - name: charged
    uses: clevertap.upload_event
    account: {ACCOUNT}
    with:
      email: "{{{{ steps.trigger.event.body.email }}}}"
      event_name: Charged
      event_data: {{Amount: "{{{{ steps.trigger.event.body.amount }}}}"}}
"""

APP_USER = f"""
name: app-user
trigger:
  http: {{path: app-user}}
steps:
  - name: seen
    uses: clevertap.upload_event
    account: {ACCOUNT}
    with:
      object_id: "{{{{ steps.trigger.event.body.ct_id }}}}"
      identity: "{{{{ steps.trigger.event.body.get('user_id', '') }}}}"
      event_name: "{{{{ steps.trigger.event.body.event }}}}"
"""


def by_email(sandbox: SandboxServer, email: str) -> dict | None:
    answer = httpx.get(
        f"{sandbox.url}/1/profile.json", params={"email": email}, headers=sandbox.headers()
    ).json()
    return answer.get("record")


def test_a_guest_checkout_is_recorded_under_its_email(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(GUEST_CHECKOUT)
    installation.post("guest-checkout", {"email": "guest@example.com", "name": "Gus", "amount": 30})
    (run,) = installation.wait_finished("guest-checkout", 1)

    assert run["status"] == "succeeded", run["error"]
    found = profile(sandbox, "guest@example.com")  # the email serves as identity
    assert found is not None and found["profileData"]["Name"] == "Gus"
    assert found["events"]["Charged"]["count"] == 1
    assert by_email(sandbox, "guest@example.com")["identity"] == "guest@example.com"


def test_an_anonymous_user_keeps_their_events_when_they_sign_in(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(APP_USER)
    ct_id = "__g5b4f8a2c9d3e41f7a"
    installation.post("app-user", {"ct_id": ct_id, "event": "Viewed Pricing"})
    installation.post("app-user", {"ct_id": ct_id, "user_id": "u-77", "event": "Signed Up"})
    runs = installation.wait_finished("app-user", 2)

    assert {r["status"] for r in runs} == {"succeeded"}, [r["error"] for r in runs]
    found = profile(sandbox, "u-77")
    assert found is not None
    assert found["platformInfo"][0]["objectId"] == ct_id
    assert set(found["events"]) == {"Viewed Pricing", "Signed Up"}


def test_a_record_that_names_no_user_is_refused_before_sending(
    installation: Installation, sandbox: SandboxServer, tmp_path: Path
) -> None:
    installation.deploy(GUEST_CHECKOUT)
    event = tmp_path / "event.json"
    for body, expected in (
        (
            {"email": "", "name": "Nobody", "amount": 1},
            "identity is None; give the user's id (identity), ",
        ),
        (
            {"email": "not-an-address", "name": "X", "amount": 1},
            "email 'not-an-address' is not an email",
        ),
    ):
        event.write_text(json.dumps(body))
        result = installation.cli("test", "guest-checkout", "--event", str(event), check=False)
        assert result.returncode == 1
        assert expected in result.stdout + result.stderr
    assert sandbox.stats()["requests"]["total"] == 0
