"""The audit log: every change, made through the API, the web UI's session or the command
line, is recorded with who made it, when and what, and shown by the API and
`relayflow audit`."""

from __future__ import annotations

import getpass
import time

import httpx

WORKFLOW = """
name: audited
trigger: {http: {path: audited}}
steps:
  - name: gate
    filter:
      continue_if: "{{ steps.trigger.event.method == 'POST' }}"
"""


def test_every_change_is_recorded_with_who_made_it(relayflow):
    rf = relayflow
    rf.env["RELAYFLOW_ADMIN_PASSWORD"] = "correct-horse-battery"
    started = time.time()
    rf.start()
    shell_user = getpass.getuser()
    rf.cli("accounts", "add", "stripe", "stripe-main", "--webhook-secret", "whsec_x")
    with rf.api() as api:
        new_user = {"name": "ann", "password": "another-long-pass"}
        assert api.post("/users", json=new_user).status_code == 201
        headers = {"content-type": "text/yaml"}
        assert api.post("/workflows", content=WORKFLOW, headers=headers).status_code == 200
        # The same file again is no change, and is not recorded.
        assert api.post("/workflows", content=WORKFLOW, headers=headers).status_code == 200
        assert api.post("/workflows/audited/pause").status_code == 200
        assert api.post("/workflows/audited/activate").status_code == 200
    sent = httpx.post(f"{rf.url}/hooks/audited", json={})
    run_id = sent.json()["run_id"]
    finished = rf.wait_finished(run_id)
    assert finished["status"] == "succeeded", finished["error"]

    # A web UI session: sign in as admin, then replay through /api/v1 with its CSRF token.
    with httpx.Client(base_url=rf.url, follow_redirects=False) as web:
        signed = web.post("/login", data={"username": "admin", "password": "correct-horse-battery"})
        assert signed.status_code == 303, signed.text
        page = web.get("/runs").text
        csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        replayed = web.post(f"/api/v1/runs/{run_id}/replay", headers={"X-Relayflow-CSRF": csrf})
        assert replayed.status_code == 200, replayed.text
        shown = web.get("/audit")
        assert shown.status_code == 200

    with rf.api() as api:
        entries = api.get("/audit", params={"limit": 100}).json()
        only_workflow = api.get("/audit", params={"action": "workflow."}).json()
    seen = [(e["actor"], e["action"], e["target"]) for e in reversed(entries)]
    cli = f"{shell_user}@"
    assert [s for s in seen if s[1] != "user.add" or s[2] != "admin"] == [
        (seen[1][0], "account.add", "stripe-main"),
        ("API token", "user.add", "ann"),
        ("API token", "workflow.deploy", "audited"),
        ("API token", "workflow.pause", "audited"),
        ("API token", "workflow.activate", "audited"),
        ("user admin", "run.replay", run_id),
    ], seen
    assert seen[1][0].startswith(cli) and seen[1][0].endswith("(command line)")
    assert all(e["at"] >= started - 1 for e in entries)
    replay = entries[0]
    assert replay["details"]["workflow"] == "audited" and replay["details"]["new_run"]
    (deploy,) = [e for e in entries if e["action"] == "workflow.deploy"]
    assert deploy["details"] == {"version": 1}
    assert {e["action"] for e in only_workflow} == {
        "workflow.deploy", "workflow.pause", "workflow.activate"
    }  # fmt: skip
    assert "run.replay" in shown.text and "user admin" in shown.text

    text = rf.cli("audit", "--action", "account.").stdout
    assert "account.add stripe-main" in text and '"app": "stripe"' in text
    assert "workflow." not in text
