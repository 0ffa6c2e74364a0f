"""Flow control: filter, if/else, switch, durable delays (restart, cancel, resume), end."""

from __future__ import annotations

import signal

import httpx

from conftest import Relayflow

BRANCHING = """\
name: branching
trigger: {http: {path: branching}}
steps:
  - name: only_known
    filter:
      exit_if: "{{ steps.trigger.event.body.plan == 'spam' }}"
  - name: paid
    if: "{{ steps.trigger.event.body.plan != 'free' }}"
    then:
      - {name: upgrade, uses: util.echo, with: {value: "paid {{ steps.trigger.event.body.plan }}"}}
      - {name: thank, uses: util.echo, with: {value: "thanks {{ steps.upgrade.$return_value }}"}}
    else:
      - {name: nudge, uses: util.echo, with: {value: nudged}}
  - name: channel
    switch: "{{ steps.trigger.event.body.channel }}"
    cases:
      email: [{name: by_email, uses: util.echo, with: {value: mail}}]
      sms:
        - {name: by_sms, uses: util.echo, with: {value: text}}
        - {name: stop_sms, end: "no sms after hours"}
    default: [{name: by_push, uses: util.echo, with: {value: push}}]
  - name: summary
    uses: util.echo
    with:
      value:
        paid: "{{ steps.paid.$return_value }}"
        channel: "{{ steps.channel.$return_value }}"
"""


def run_for(rf: Relayflow, body: dict) -> dict:
    run_id = httpx.post(f"{rf.url}/hooks/branching", json=body).json()["run_id"]
    return rf.wait_finished(run_id, timeout=20)


def test_filter_branches_switch_and_end(relayflow):
    relayflow.deploy_text("branching", BRANCHING)
    relayflow.start()
    paid = run_for(relayflow, {"plan": "pro", "channel": "email"})
    assert paid["status"] == "succeeded"
    names = [s["step_name"] for s in paid["steps"]]
    assert "nudge" not in names and "by_sms" not in names
    assert paid["steps"][-1]["return_value"] == {"paid": "thanks paid pro", "channel": "mail"}

    free = run_for(relayflow, {"plan": "free", "channel": "web"})
    assert free["steps"][-1]["return_value"] == {"paid": "nudged", "channel": "push"}

    sms = run_for(relayflow, {"plan": "free", "channel": "sms"})
    assert sms["status"] == "exited" and sms["error"] == "no sms after hours"
    assert "summary" not in [s["step_name"] for s in sms["steps"]]

    spam = run_for(relayflow, {"plan": "spam", "channel": "email"})
    assert spam["status"] == "exited"
    assert [s["step_name"] for s in spam["steps"]] == ["only_known"]


DELAYED = """\
name: delayed
trigger: {http: {path: delayed}}
steps:
  - {name: before, uses: util.echo, with: {value: "{{ steps.trigger.event.body.n }}"}}
  - {name: wait, delay: "{{ steps.trigger.event.body.wait }}"}
  - {name: after, uses: util.echo, with: {value: "after {{ steps.before.$return_value }}"}}
"""


def test_a_delay_survives_a_restart(relayflow):
    relayflow.deploy_text("delayed", DELAYED)
    server = relayflow.start()
    run_id = httpx.post(f"{relayflow.url}/hooks/delayed", json={"n": 1, "wait": "3s"}).json()[
        "run_id"
    ]
    relayflow.wait_runs(1, status="sleeping", timeout=10)
    relayflow.kill(server, signal.SIGKILL)
    relayflow.start()
    (run,) = relayflow.wait_runs(1, timeout=30)
    shown = relayflow.inspect(run_id)
    assert shown["steps"][-1]["return_value"] == "after 1"
    wait = shown["steps"][1]["return_value"]
    assert shown["finished_at"] >= wait["resume_at"]
    assert [s["step_name"] for s in shown["steps"]].count("before") == 1


def test_a_delay_can_be_cancelled_or_resumed_early(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.deploy_text("delayed", DELAYED)
    rf.start()
    keep = httpx.post(f"{rf.url}/hooks/delayed", json={"n": 1, "wait": "1h"}).json()["run_id"]
    drop = httpx.post(f"{rf.url}/hooks/delayed", json={"n": 2, "wait": "1h"}).json()["run_id"]
    rf.wait_runs(2, status="sleeping", timeout=10)
    wait = rf.inspect(keep)["steps"][1]["return_value"]
    assert wait["seconds"] == 3600
    forged = httpx.get(wait["resume_url"].replace("sig=", "sig=0"))
    assert forged.status_code == 403
    assert httpx.get(wait["resume_url"]).json()["action"] == "resume"
    rf.cli("cancel", drop)
    (done,) = rf.wait_runs(1, timeout=10)
    assert done["id"] == keep
    assert rf.runs("--status", "cancelled")[0]["id"] == drop
    again = rf.cli("cancel", drop, check=False)
    assert again.returncode == 1 and "is not waiting" in again.stderr


def test_invalid_delay_fails_with_the_reason(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.deploy_text("delayed", DELAYED)
    rf.start()
    httpx.post(f"{rf.url}/hooks/delayed", json={"n": 1, "wait": "soon"})
    (run,) = rf.wait_runs(1, status="failed", timeout=10)
    assert "'soon' is not a duration" in run["error"]
