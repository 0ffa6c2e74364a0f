"""Delivering to CleverTap from real runs: batching, partial failures, retries, outages."""

from __future__ import annotations

import json
import time
from pathlib import Path

from relayflow.sandbox import SandboxServer

from .helpers import ACCOUNT, FINAL, Installation, profile


def signup_workflow(name: str, account: str = ACCOUNT, extra: str = "", settings: str = "") -> str:
    return f"""
name: {name}
trigger:
  http: {{path: {name}}}
steps:
  - name: upsert_user
    uses: clevertap.upload_profile
    account: {account}
    with:
      identity: "{{{{ steps.trigger.event.body.user_id }}}}"
      name: "{{{{ steps.trigger.event.body.name }}}}"
      phone: "{{{{ steps.trigger.event.body.phone }}}}"{extra}
settings:
  concurrency: 300
{settings}
"""


def signup(i: int, phone: str | None = None) -> dict:
    return {"user_id": f"user-{i}", "name": f"User {i}", "phone": phone or f"+1415555{i:04d}"}


def test_300_concurrent_runs_share_batched_requests_and_each_gets_its_own_result(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(signup_workflow("batched"))
    started = time.monotonic()
    installation.post_many("batched", [signup(i) for i in range(300)])
    print(f"\nposted in {time.monotonic() - started:.1f}s")
    runs = installation.wait_finished("batched", 300)
    print(f"finished in {time.monotonic() - started:.1f}s")

    assert {r["status"] for r in runs} == {"succeeded"}
    for run in runs:
        found = installation.stored_run(run["id"])
        sent = found["steps"][0]["return_value"]["record"]
        assert sent["identity"] == found["event"]["body"]["user_id"]
        assert sent["profileData"]["Phone"] == found["event"]["body"]["phone"]
    uploads = sandbox.stats()["uploads"]
    assert uploads["records"] == 300 and uploads["processed"] == 300
    print(
        f"\n300 runs → {uploads['requests']} upload requests, "
        f"{uploads['mean_records_per_request']} records per request "
        f"(largest {uploads['max_records_per_request']})"
    )
    assert uploads["requests"] <= 30, uploads["records_per_request"]
    assert profile(sandbox, "user-299")["profileData"]["Name"] == "User 299"
    metrics = installation.metrics()
    assert 'relayflow_clevertap_records_total{outcome="processed"}' in metrics


def test_one_bad_phone_among_valid_records_fails_only_its_own_run(
    installation: Installation, sandbox: SandboxServer
) -> None:
    # check_rules off: the bad record reaches CleverTap inside a shared request, and its
    # `unprocessed` entry has to find its way back to the one run that sent it.
    installation.deploy(signup_workflow("partial", extra="\n      check_rules: false"))
    bodies = [signup(i, "4155550117" if i == 17 else None) for i in range(40)]
    installation.post_many("partial", bodies)
    runs = installation.wait_finished("partial", 40)

    failed = [r for r in runs if r["status"] == "failed"]
    assert len(failed) == 1 and len([r for r in runs if r["status"] == "succeeded"]) == 39
    assert "CleverTap rejected the profile for identity 'user-17' (code 516)" in failed[0]["error"]
    uploads = sandbox.stats()["uploads"]
    assert uploads["unprocessed"] == 1 and uploads["requests"] < 40

    listed = installation.cli("runs", "partial", "--status", "failed", "--json").stdout
    assert [r["id"] for r in json.loads(listed)] == [failed[0]["id"]]
    shown = installation.inspect(failed[0]["id"])
    error = shown["steps"][0]["error"]
    assert error["details"]["code"] == 516
    assert error["details"]["record"]["identity"] == "user-17"
    assert "Skipped record number" in error["details"]["error"]
    assert shown["steps"][0]["attempts"] == 1


def test_relayflow_test_shows_the_rule_error_at_build_time_without_sending(
    installation: Installation, sandbox: SandboxServer, tmp_path: Path
) -> None:
    installation.deploy(signup_workflow("build-time"))
    event = tmp_path / "event.json"
    event.write_text(json.dumps(signup(5, "4155550100")))
    result = installation.cli("test", "build-time", "--event", str(event), check=False)

    assert result.returncode == 1
    shown = " ".join(result.stdout.split())
    assert "steps.upsert_user.with.phone: Phone is incorrect. ErrorCode: 516" in shown
    assert 'Phone "4155550100" has no country code; CleverTap wants' in shown
    assert "was not sent" in shown
    assert sandbox.stats()["requests"]["total"] == 0


def test_503_and_429_answers_are_retried_and_the_run_succeeds(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(signup_workflow("flaky"))
    for number, status in enumerate((503, 429)):
        sandbox.set_faults(fail_next=2, status=status)
        installation.post("flaky", signup(number))
        installation.wait_finished("flaky", number + 1)
    runs = installation.workflow_runs("flaky")

    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    assert sandbox.stats()["requests"]["by_status"] == {"200": 2, "429": 2, "503": 2}
    assert all(profile(sandbox, f"user-{i}") for i in (0, 1))


def test_bad_credentials_fail_the_test_command_and_the_run_without_retries(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.add_account("clevertap-wrong", sandbox, passcode="not-the-passcode")
    tested = installation.cli("accounts", "test", "clevertap-wrong", check=False)
    assert tested.returncode == 1
    said = " ".join(tested.stderr.split())
    assert "CleverTap rejected the Account ID / Passcode (HTTP 401: Invalid Credentials)" in said
    assert "not-the-passcode" not in tested.stdout + tested.stderr

    settings = "  retries: {max: 5, initial: 1s}"
    installation.deploy(signup_workflow("wrong-creds", "clevertap-wrong", settings=settings))
    installation.post("wrong-creds", signup(1))
    (run,) = installation.wait_finished("wrong-creds", 1)
    assert run["status"] == "failed"
    assert "CleverTap rejected the Account ID / Passcode" in run["error"]
    assert installation.run(run["id"])["steps"][0]["attempts"] == 1
    good = installation.cli("accounts", "test", ACCOUNT)
    assert "CleverTap accepted Account ID TEST-RELAYFLOW" in " ".join(good.stdout.split())


def test_nothing_is_lost_while_clevertap_is_down(
    installation: Installation, tmp_path: Path
) -> None:
    outage = SandboxServer(db_path=tmp_path / "outage.sqlite3").start()
    installation.add_account("clevertap-outage", outage)
    settings = "  retries: {max: 20, initial: 1s, max_delay: 2s}"
    installation.deploy(signup_workflow("outage", "clevertap-outage", settings=settings))
    outage.stop()
    try:
        installation.post_many("outage", [signup(i) for i in range(20)])
        deadline = time.monotonic() + 15
        while retrying(installation, "outage") < 20:  # the engine put every run back to wait
            assert time.monotonic() < deadline, installation.workflow_runs("outage")
            time.sleep(0.2)
        assert not [r for r in installation.workflow_runs("outage") if r["status"] in FINAL]
    finally:
        outage.start()  # the same port and database
    try:
        runs = installation.wait_finished("outage", 20, timeout=30)
        assert {r["status"] for r in runs} == {"succeeded"}
        assert max(installation.run(r["id"])["steps"][0]["attempts"] for r in runs) >= 2
        assert all(profile(outage, f"user-{i}") for i in range(20))
    finally:
        outage.stop()


def retrying(installation: Installation, workflow: str) -> int:
    """Runs whose first step failed and waits for the engine to try it again."""
    runs = installation.workflow_runs(workflow)
    steps = [installation.stored_run(r["id"])["steps"] for r in runs]
    return sum(1 for s in steps if s and s[0]["status"] == "retrying")
