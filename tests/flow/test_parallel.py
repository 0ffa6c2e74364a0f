"""`parallel` blocks in a real `relayflow up`: branches at once, `{branch: last result}`,
and a failed branch failing the block only after the others finished."""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from conftest import Relayflow
from receiver import Receiver

FAN_OUT = """\
name: fan
trigger: {{http: {{path: fan}}}}
steps:
  - name: fan_out
    parallel:
      profile:
        - name: upsert
          uses: http.request
          with: {{method: POST, url: "{url}/?key=profile"}}
        - name: upserted
          uses: util.echo
          with: {{value: "profile {{{{ steps.upsert.$return_value.body.key }}}}"}}
      notify:
        - name: tell
          uses: http.request
          with: {{method: POST, url: "{url}/?key=notify"}}
        - name: told
          uses: util.echo
          with: {{value: "{{{{ steps.trigger.event.body.who }}}} told"}}
  - name: after
    uses: util.echo
    with: {{value: "{{{{ steps.fan_out.$return_value.profile }}}}"}}
"""


def post(rf: Relayflow, body: dict) -> str:
    return httpx.post(f"{rf.url}/hooks/fan", json=body).json()["run_id"]


def test_branches_run_at_once_and_return_each_last_result(relayflow: Relayflow):
    with Receiver() as receiver:
        receiver.delay = 0.3
        relayflow.deploy_text("fan", FAN_OUT.format(url=receiver.url))
        relayflow.start()
        run = relayflow.wait_finished(post(relayflow, {"who": "ann"}))
        assert run["status"] == "succeeded", run
        block, after = run["steps"]
        assert block["return_value"] == {"profile": "profile profile", "notify": "ann told"}
        assert after["return_value"] == "profile profile"
        assert receiver.max_in_flight == 2  # both branches were calling at the same time
        with relayflow.api() as api:
            shown = api.get(f"/runs/{run['id']}/steps/fan_out/iterations").json()
        assert [[s["name"] for s in b["steps"]] for b in shown["iterations"]] == [
            ["upsert", "upserted"],
            ["tell", "told"],
        ]


def test_a_failed_branch_fails_the_block_after_the_others_finish(sqlite_relayflow: Relayflow):
    rf = sqlite_relayflow
    with Receiver() as receiver:
        receiver.delay = 0.3
        rf.deploy_text("fan", FAN_OUT.format(url=receiver.url))
        rf.start()
        run = rf.wait_finished(post(rf, {}))  # no `who`: the notify branch's `told` fails
        assert run["status"] == "failed"
        assert "branch notify failed at step told" in run["error"]
        with rf.api() as api:
            profile, notify = api.get(f"/runs/{run['id']}/steps/fan_out/iterations").json()[
                "iterations"
            ]
        assert profile["status"] == "succeeded" and profile["result"] == "profile profile"
        assert notify["status"] == "failed" and notify["error"]["step"] == "told"


@pytest.mark.parametrize(
    ("branches", "problem"),
    [
        ("{a: [], b: [{name: x, uses: util.echo}]}", "parallel branch 'a' has no steps"),
        ("{a: [{name: later, delay: 5m}]}", "steps.later is a delay inside fan"),
    ],
)
def test_a_bad_block_is_refused_at_deploy(
    sqlite_relayflow: Relayflow, branches: str, problem: str
):
    path = sqlite_relayflow.home / "bad.yaml"
    path.write_text(
        "name: bad\ntrigger: {http: {path: bad}}\n"
        f"steps:\n  - name: fan\n    parallel: {branches}\n"
    )
    result = sqlite_relayflow.cli("deploy", str(path), check=False)
    assert result.returncode != 0
    assert problem in result.stdout + result.stderr


SLOW_AND_FAST = """\
name: halves
trigger: {{http: {{path: halves}}}}
steps:
  - name: halves
    parallel:
      fast:
        - name: quick
          uses: http.request
          with: {{method: POST, url: "{url}/?key=quick"}}
      slow:
        - name: first
          uses: http.request
          with: {{method: POST, url: "{url}/?key=first"}}
        - name: wait
          uses: http.request
          with: {{method: POST, url: "{url}/?key=wait", timeout: 60}}
"""


def test_a_resumed_block_finishes_only_the_branches_that_had_not_after_kill_9(
    sqlite_relayflow: Relayflow,
):
    rf = sqlite_relayflow
    rf.env["RELAYFLOW_LEASE_SECONDS"] = "2"  # a lease not released at the restart expires soon
    with Receiver() as receiver:
        receiver.delay = 0.5
        rf.deploy_text("halves", SLOW_AND_FAST.format(url=receiver.url))
        server = rf.start()
        run_id = httpx.post(f"{rf.url}/hooks/halves", json={}).json()["run_id"]
        deadline = time.monotonic() + 30
        with rf.api() as api:
            while time.monotonic() < deadline:
                shown = api.get(f"/runs/{run_id}/steps/halves/iterations").json()["iterations"]
                done = [[s["name"] for s in b["steps"] if s["status"] == "succeeded"]
                        for b in shown]
                if done == [["quick"], ["first"]]:
                    break
                time.sleep(0.02)
        assert done == [["quick"], ["first"]], shown
        rf.kill(server, signal.SIGKILL)  # `wait` has not finished
        rf.start()
        run = rf.wait_finished(run_id, timeout=60)
        assert run["status"] == "succeeded", run
        # The finished steps never ran again; only the slow branch went on.
        assert receiver.counts["quick"] == 1 and receiver.counts["first"] == 1
        assert receiver.counts["wait"] in (1, 2)  # 2 when it was in flight at the kill
        assert run["steps"][0]["return_value"]["fast"]["body"]["key"] == "quick"
