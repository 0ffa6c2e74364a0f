"""Execution: retries with backoff, concurrency limits, timeouts, errors, replay, deploys."""

from __future__ import annotations

import json
import time

import httpx

from receiver import Receiver

CALL = """\
name: {name}
trigger:
  http:
    path: {name}
steps:
  - name: call
    uses: http.request
    with:
      method: POST
      url: "{url}/hit?key={{{{ steps.trigger.event.body.key }}}}"
      body: {{n: "{{{{ steps.trigger.event.body.key }}}}"}}
  - name: after
    uses: util.echo
    with:
      value: "{{{{ steps.call.$return_value.body.attempt }}}}"
settings:
{settings}
"""


def test_failed_steps_are_retried_durably_with_backoff(relayflow):
    with Receiver() as receiver:
        receiver.fail_first = {"k1": 2}
        relayflow.deploy_text(
            "retry",
            CALL.format(
                name="retry", url=receiver.url, settings="  retries: {max: 3, initial: 200ms}"
            ),
        )
        relayflow.start()
        httpx.post(f"{relayflow.url}/hooks/retry", json={"key": "k1"})
        (run,) = relayflow.wait_runs(1, timeout=30)
        shown = relayflow.inspect(run["id"])
        call, after = shown["steps"]
        assert call["attempts"] == 3 and call["status"] == "succeeded"
        assert after["return_value"] == 3
        assert receiver.counts["k1"] == 3


def test_a_step_out_of_retries_fails_the_run_with_its_error(relayflow):
    with Receiver() as receiver:
        receiver.fail_first = {"k2": 99}
        relayflow.deploy_text(
            "doomed",
            CALL.format(
                name="doomed", url=receiver.url, settings="  retries: {max: 1, initial: 100ms}"
            ),
        )
        relayflow.start()
        httpx.post(f"{relayflow.url}/hooks/doomed", json={"key": "k2"})
        (run,) = relayflow.wait_runs(1, status="failed", timeout=30)
        assert "step call: POST" in run["error"] and "answered 503" in run["error"]
        table = relayflow.cli("runs", "doomed", "--status", "failed").stdout
        assert "answered 503" in table
        shown = relayflow.inspect(run["id"])
        assert shown["steps"][0]["attempts"] == 2
        assert shown["steps"][0]["error"]["details"]["status"] == 503
        assert len(shown["steps"]) == 1  # the second step never ran
        assert receiver.counts["k2"] == 2


def test_concurrency_limit_holds_and_nothing_is_dropped(relayflow):
    with Receiver() as receiver:
        receiver.delay = 0.2
        relayflow.deploy_text(
            "narrow", CALL.format(name="narrow", url=receiver.url, settings="  concurrency: 2")
        )
        relayflow.start()
        with httpx.Client() as client:
            for i in range(10):
                assert (
                    client.post(f"{relayflow.url}/hooks/narrow", json={"key": f"c{i}"}).status_code
                    == 200
                )
        relayflow.wait_runs(10, timeout=60)
        assert receiver.max_in_flight == 2
        assert sorted(receiver.counts) == sorted(f"c{i}" for i in range(10))


def test_throttle_spreads_run_starts_and_drops_nothing(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.deploy_text(
        "throttled",
        """\
name: throttled
trigger: {http: {path: throttled}}
steps:
  - {name: a, uses: util.echo, with: {value: 1}}
settings:
  throttle: {limit: 2, per: 1s}
""",
    )
    rf.start()
    with httpx.Client() as client:
        for _ in range(6):
            assert client.post(f"{rf.url}/hooks/throttled", json={}).status_code == 200
    runs = rf.wait_runs(6, timeout=30)
    starts = sorted(r["started_at"] for r in runs)
    for i, start in enumerate(starts):
        in_window = [s for s in starts[i:] if s < start + 1.0]
        assert len(in_window) <= 2, starts
    assert starts[-1] - starts[0] >= 2.0


def test_missing_paths_and_timeouts_fail_with_a_message_naming_them(relayflow):
    relayflow.deploy_text(
        "typo",
        """\
name: typo
trigger: {http: {path: typo}}
steps:
  - name: shape
    uses: util.echo
    with: {value: "{{ steps.trigger.event.body.emial }}"}
""",
    )
    with Receiver() as receiver:
        receiver.delay = 2
        relayflow.deploy_text(
            "slow", CALL.format(name="slow", url=receiver.url, settings="  timeout: 500ms")
        )
        relayflow.start()
        httpx.post(f"{relayflow.url}/hooks/typo", json={"email": "a@b.c"})
        httpx.post(f"{relayflow.url}/hooks/slow", json={"key": "s"})
        failed = {r["workflow"]: r for r in relayflow.wait_runs(2, status="failed", timeout=30)}
    assert failed["typo"]["error"] == (
        "step shape: steps.shape.with.value: steps.trigger.event.body.emial does not exist"
        " (steps.trigger.event.body has: email)"
    )
    assert "took longer than 0.5s" in failed["slow"]["error"]


def test_cli_test_prints_each_step_and_exits_1_on_failure(sqlite_relayflow, tmp_path):
    rf = sqlite_relayflow
    rf.deploy_text(
        "typo",
        """\
name: typo
trigger: {http: {path: typo}}
steps:
  - name: shape
    uses: util.echo
    with: {value: "{{ steps.trigger.event.body.email | upper }}"}
""",
    )
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"email": "ann@example.com"}))
    result = rf.cli("test", "typo", "--event", str(good))
    assert "ANN@EXAMPLE.COM" in result.stdout and "succeeded" in result.stdout
    bad = rf.cli("test", "typo", "--event", "-", input='{"mail": "x"}', check=False)
    assert bad.returncode == 1
    assert "steps.trigger.event.body.email does not exist" in bad.stdout


def test_replay_runs_the_same_event_on_the_chosen_version(relayflow):
    flow = (
        "name: replayed\ntrigger: {http: {path: replayed}}\nsteps:\n"
        "  - {name: a, uses: util.echo, with: {value: '%s {{ steps.trigger.event.body.n }}'}}\n"
    )
    relayflow.deploy_text("replayed", flow % "v1")
    relayflow.start()
    first = httpx.post(f"{relayflow.url}/hooks/replayed", json={"n": 7}).json()["run_id"]
    relayflow.wait_runs(1)
    relayflow.deploy_text("replayed", flow % "v2")
    replayed = json.loads(relayflow.cli("replay", first, "--json").stdout)
    assert replayed["version"] == 2
    with relayflow.api() as api:
        old = api.post(f"/runs/{first}/replay", json={"version": 1}).json()
    relayflow.wait_runs(3)
    new = relayflow.inspect(replayed["run_id"])
    assert new["steps"][0]["return_value"] == "v2 7"
    assert new["replay_of"] == first
    again = relayflow.inspect(old["run_id"])
    assert again["steps"][0]["return_value"] == "v1 7"


def test_deploy_reaches_a_running_server_without_restart(relayflow):
    relayflow.start()
    assert httpx.post(f"{relayflow.url}/hooks/late", json={}).status_code == 404
    relayflow.deploy_text("late", "name: late\ntrigger: {http: {path: late}}\n")
    deadline = time.monotonic() + 1.5
    status = 404
    while time.monotonic() < deadline and status == 404:
        status = httpx.post(f"{relayflow.url}/hooks/late", json={}).status_code
        time.sleep(0.05)
    assert status == 200
    relayflow.cli("workflows", "pause", "late")
    time.sleep(1.2)
    assert httpx.post(f"{relayflow.url}/hooks/late", json={}).status_code == 404


def test_api_deploys_lists_and_inspects(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.start()
    with rf.api() as api:
        bad = api.post(
            "/workflows",
            content="name: x\ntrigger: {}\n",
            headers={"content-type": "application/yaml"},
        )
        assert bad.status_code == 422
        assert any("exactly one trigger" in p for p in bad.json()["detail"]["problems"])
        ok = api.post(
            "/workflows",
            json={
                "source": "name: api\ntrigger: {http: {path: api}}\n"
                "steps:\n  - {name: a, uses: util.echo, with: {value: 5}}\n"
            },
        )
        assert ok.json() == {"name": "api", "version": 1, "changed": True}
        run_id = httpx.post(f"{rf.url}/hooks/api", json={}).json()["run_id"]
        rf.wait_runs(1)
        run = api.get(f"/runs/{run_id}").json()
        assert run["status"] == "succeeded" and run["steps"][0]["return_value"] == 5
        assert [w["name"] for w in api.get("/workflows").json()] == ["api"]
        assert api.get("/runs", params={"workflow": "api"}).json()[0]["id"] == run_id
        assert api.get("/runs", params={"q": "needle-42", "since": "1h"}).json() == []
        assert any(a["key"] == "http.request" for a in api.get("/actions").json())
        schema = httpx.get(f"{rf.url}/openapi.json").json()
        assert "/api/v1/runs/{run_id}" in schema["paths"]
        assert httpx.get(f"{rf.url}/api/v1/workflows").status_code == 401
    assert httpx.get(f"{rf.url}/healthz").status_code == 200
    assert "relayflow_events_ingested_total" in httpx.get(f"{rf.url}/metrics").text
    assert "relayflow" in httpx.get(rf.url).text


DRAFT = """\
name: drafted
trigger: {http: {path: drafted}}
steps:
  - {name: one, uses: util.echo, with: {value: "one {{ steps.trigger.event.body.x }}"}}
  - {name: two, uses: util.echo, with: {value: "two %s"}}
"""


def test_drafts_are_tested_without_deploying_then_deployed_and_rolled_back(relayflow):
    relayflow.start()
    with relayflow.api() as api:
        tested = api.post(
            "/workflows/drafted/test",
            json={"source": DRAFT % "a", "event": {"body": {"x": 1}}, "until": "one"},
        ).json()
        # A test runs a draft, numbered apart: the first deploy is still version 1.
        assert tested["status"] == "succeeded" and tested["test"] is True
        assert tested["draft"] == 1 and tested["version"] is None
        assert [s["step_name"] for s in tested["steps"]] == ["one"]
        assert tested["steps"][0]["return_value"] == "one 1"
        assert httpx.post(f"{relayflow.url}/hooks/drafted", json={}).status_code == 404
        deployed = api.post("/workflows", json={"source": DRAFT % "a"}).json()
        assert deployed == {"name": "drafted", "version": 1, "changed": True}
        assert api.post("/workflows", json={"source": DRAFT % "b"}).json()["version"] == 2
    time.sleep(1.2)
    httpx.post(f"{relayflow.url}/hooks/drafted", json={"x": 2})
    relayflow.wait_runs(1)
    relayflow.cli("workflows", "rollback", "drafted", "1")
    time.sleep(1.2)
    httpx.post(f"{relayflow.url}/hooks/drafted", json={"x": 3})
    runs = [r for r in relayflow.wait_runs(3) if not r["test"]]
    assert sorted(r["version"] for r in runs) == [1, 2]
    file = relayflow.home / "draft.yaml"
    file.write_text((DRAFT % "c").replace("{{ steps.trigger.event.body.x }}", "{{ oops.x }}"))
    result = relayflow.cli("test", str(file), "--event", "-", input="{}", check=False)
    assert result.returncode == 1 and "oops is not defined" in result.stdout
    shown = json.loads(relayflow.cli("workflows", "show", "drafted", "--json").stdout)
    assert shown["version"] == 1 and [v["version"] for v in shown["versions"]] == [2, 1]
    assert [d["draft"] for d in shown["drafts"]] == [2, 1]


def test_api_replays_failed_runs_and_deletes_workflows(sqlite_relayflow):
    rf = sqlite_relayflow
    flow = (
        "name: fixable\ntrigger: {http: {path: fixable}}\nsteps:\n"
        "  - {name: a, uses: util.echo, with: {value: '{{ steps.trigger.event.body.%s }}'}}\n"
    )
    rf.deploy_text("fixable", flow % "missing")
    rf.start()
    for n in range(3):
        httpx.post(f"{rf.url}/hooks/fixable", json={"present": n})
    rf.wait_runs(3, status="failed")
    rf.deploy_text("fixable", flow % "present")
    with rf.api() as api:
        replayed = api.post("/workflows/fixable/replay-failed").json()
        assert replayed["replayed"] == 3
        rf.wait_runs(3)
        assert api.post("/workflows/fixable/replay-failed").json()["replayed"] == 0
        assert api.delete("/workflows/fixable").json() == {"deleted": "fixable"}
        assert api.get("/workflows").json() == []
        assert api.get("/runs").json() == []


def test_failed_runs_go_to_the_error_workflow(relayflow):
    relayflow.deploy_text(
        "alerts",
        """\
name: alerts
trigger: {manual: {}}
steps:
  - name: note
    uses: util.echo
    with: {value: "{{ steps.trigger.event.run.workflow }}: {{ steps.trigger.event.error.message }}"}
""",
    )
    relayflow.deploy_text(
        "fragile",
        """\
name: fragile
trigger: {http: {path: fragile}}
steps:
  - {name: shape, uses: util.echo, with: {value: "{{ steps.trigger.event.body.nope }}"}}
settings:
  error_workflow: alerts
""",
    )
    relayflow.start()
    failed_id = httpx.post(f"{relayflow.url}/hooks/fragile", json={"yes": 1}).json()["run_id"]
    relayflow.wait_runs(1, status="failed")
    (alert,) = relayflow.wait_runs(1)
    shown = relayflow.inspect(alert["id"])
    assert shown["workflow"] == "alerts"
    assert shown["event"]["run"]["id"] == failed_id
    assert shown["event"]["event"]["body"] == {"yes": 1}
    assert shown["steps"][0]["return_value"] == (
        "fragile: step shape: steps.shape.with.value: steps.trigger.event.body.nope does not"
        " exist (steps.trigger.event.body has: yes)"
    )


def test_runs_can_be_searched_by_event_payload(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.deploy_text("search", "name: search\ntrigger: {http: {path: search}}\n")
    rf.start()
    wanted = httpx.post(f"{rf.url}/hooks/search", json={"email": "needle@example.com"})
    httpx.post(f"{rf.url}/hooks/search", json={"email": "hay@example.com"})
    rf.wait_runs(2)
    found = rf.runs("--search", "needle@", "--since", "1h")
    assert [r["id"] for r in found] == [wanted.json()["run_id"]]
    with rf.api() as api:
        listed = api.get("/runs", params={"q": "hay@example"}).json()
        assert len(listed) == 1 and listed[0]["id"] != wanted.json()["run_id"]


def test_a_cookie_one_run_was_given_is_not_sent_by_the_next(sqlite_relayflow):
    """Runs share one connection pool, never a cookie jar: a session cookie that one
    workflow's call received must not go out with another run's request (a host name:
    cookie jars take no cookies from bare IP addresses)."""
    with Receiver() as receiver:
        receiver.set_cookie = "session=run-one-secret; Path=/"
        url = receiver.url.replace("127.0.0.1", "localhost")
        sqlite_relayflow.deploy_text(
            "cookies", CALL.format(name="cookies", url=url, settings="  concurrency: 1")
        )
        sqlite_relayflow.start()
        with httpx.Client() as client:
            for key in ("first", "second"):
                answer = client.post(f"{sqlite_relayflow.url}/hooks/cookies", json={"key": key})
                assert answer.status_code == 200
                sqlite_relayflow.wait_finished(answer.json()["run_id"])
        first, second = receiver.requests
    assert first["query"]["key"] == "first" and second["query"]["key"] == "second"
    assert "cookie" not in second["headers"], second["headers"]
