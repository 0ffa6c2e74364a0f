"""Code steps attack the platform that runs them, and fail: a real `relayflow up`, real steps.

A step tries what issue 11 tried (read the key files, the API token, the database and its WAL,
the server's environment; write into the home; kill the server; reach a host Unix socket),
with and without `requirements:`; what it starts must end with it (issue 15), and a fork
bomb is held to the process limit. After each, the platform still takes webhooks and runs
them. The home lives outside /tmp, so the step's private /tmp is not what hides it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from attempts import FORK_BOMB, PRELUDE
from conftest import Relayflow, platform_with_secrets
from process_table import wait_until_gone
from relayflow.codestep import UNSAFE_OPT_IN

MAX_PROCESSES = 40

ATTACK = (
    PRELUDE
    + """
def handler(pd):
    home = pd.inputs["home"]
    server = pd.steps["trigger"]["event"]["body"]["server_pid"]
    tried = {name: attempt(lambda name=name: read(os.path.join(home, name))) for name in
             ["secret.key", "api-token", "relayflow.db", "relayflow.db-wal", "links.key"]}
    tried["server environ"] = attempt(lambda: read(f"/proc/{server}/environ"))
    tried["list the home"] = attempt(lambda: os.listdir(home))
    tried["write into the home"] = attempt(
        lambda: open(os.path.join(home, "planted.py"), "w").write("stolen = True"))
    tried["kill the server"] = attempt(lambda: os.kill(server, signal.SIGKILL))
    tried["postgres socket"] = attempt(lambda: connect("/var/run/postgresql/.s.PGSQL.5432"))
    tried["run folder"] = attempt(lambda: os.listdir("/run"))
    return tried
"""
)

DENIED = ("PermissionError", "FileNotFoundError", "ProcessLookupError")


def workflow(name: str, source: str, *, with_: str = "{}", extra: str = "") -> str:
    body = "\n".join("      " + line for line in source.splitlines())
    return (
        f"name: {name}\ntrigger: {{http: {{path: {name}}}}}\n{extra}"
        f"steps:\n  - name: step\n    with: {with_}\n    code: |\n{body}\n"
    )


LEAVER = """\
import subprocess

def handler(pd):
    mark = pd.steps["trigger"]["event"]["body"]["mark"]
    subprocess.Popen(["sleep", mark], start_new_session=True)
    if pd.steps["trigger"]["event"]["body"].get("hang"):
        import time
        time.sleep(60)
    return "left a child behind"
"""

PLAIN = """\
def handler(pd):
    return pd.steps["trigger"]["event"]["body"]["n"] * 2
"""


@pytest.fixture(scope="module")
def platform() -> Iterator[Relayflow]:
    def files(home: Path) -> dict[str, str]:
        inputs = f'{{home: "{home}"}}'
        reqs = "requirements: [six]\n"
        return {
            "attack.yaml": workflow("attack", ATTACK, with_=inputs),
            "attack-reqs.yaml": workflow("attack-reqs", ATTACK, with_=inputs, extra=reqs),
            "leaver.yaml": workflow("leaver", LEAVER, extra="settings: {code_timeout: 2s}\n"),
            "bomb.yaml": workflow("bomb", FORK_BOMB, extra="settings: {code_timeout: 30s}\n"),
            "plain.yaml": workflow("plain", PLAIN),
        }

    limits = {"RELAYFLOW_CODE_MAX_PROCESSES": str(MAX_PROCESSES)}
    with platform_with_secrets("relayflow-isolation-", files, limits) as rf:
        yield rf


def send(rf: Relayflow, path: str, body: dict) -> str:
    answer = httpx.post(f"{rf.url}/hooks/{path}", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["run_id"]


def assert_still_serving(rf: Relayflow, n: int = 21) -> None:
    assert rf.procs[0].poll() is None, "the server died"
    run = rf.wait_finished(send(rf, "plain", {"n": n}))
    assert run["status"] == "succeeded" and run["steps"][0]["return_value"] == 2 * n, run


@pytest.mark.parametrize("path", ["attack", "attack-reqs"])
def test_a_code_step_cannot_read_the_platforms_secrets_or_touch_the_server(
    platform: Relayflow, path: str
) -> None:
    rf = platform
    for name in ("secret.key", "api-token", "relayflow.db", "relayflow.db-wal"):
        assert (rf.home / name).exists(), name  # there to be stolen
    run = rf.wait_finished(send(rf, path, {"server_pid": rf.procs[0].pid}), timeout=180)
    assert run["status"] == "succeeded", run
    tried = run["steps"][0]["return_value"]
    assert (rf.home / "links.key").exists()  # made for this run's resume/cancel links
    for attempt in (
        "secret.key",
        "api-token",
        "relayflow.db",
        "relayflow.db-wal",
        "links.key",
        "server environ",
        "list the home",
        "write into the home",
        "kill the server",
        "postgres socket",
        "run folder",
    ):
        assert tried[attempt][0] in DENIED, (attempt, tried[attempt])
    assert tried["kill the server"][0] == "ProcessLookupError"  # no such process in its world
    assert not (rf.home / "planted.py").exists()
    key = (rf.home / "secret.key").read_text().strip()
    assert key not in str(run)
    assert_still_serving(rf)


def test_a_child_started_with_a_new_session_ends_with_the_step(platform: Relayflow) -> None:
    mark = f"{time.time_ns() % 10**6 + 10**6}.75"
    run = platform.wait_finished(send(platform, "leaver", {"mark": mark}))
    assert run["status"] == "succeeded", run
    assert wait_until_gone(f"sleep\0{mark}") == []
    assert_still_serving(platform)


def test_a_child_ends_when_the_step_times_out(platform: Relayflow) -> None:
    mark = f"{time.time_ns() % 10**6 + 10**6}.5"
    run = platform.wait_finished(send(platform, "leaver", {"mark": mark, "hang": True}))
    assert run["status"] == "failed"
    assert "time limit" in run["steps"][0]["error"]["message"]
    assert wait_until_gone(f"sleep\0{mark}") == []
    assert_still_serving(platform)


def test_a_fork_bomb_is_contained_and_the_platform_keeps_serving(platform: Relayflow) -> None:
    mark = f"{time.time_ns() % 10**6 + 10**6}.125"
    bomb = send(platform, "bomb", {"mark": mark})
    assert_still_serving(platform, n=5)  # while the bomb goes off
    run = platform.wait_finished(bomb)
    assert run["status"] == "succeeded", run
    outcome = run["steps"][0]["return_value"]
    assert outcome["refused"] > 0 and outcome["processes"] <= 1 + MAX_PROCESSES
    assert wait_until_gone(f"sleep\0{mark}") == []
    assert_still_serving(platform)


PEEK_HOME = """\
import os

def handler(pd):
    return sorted(os.listdir(pd.inputs["home"]))
"""


def test_without_a_sandbox_only_the_operators_opt_in_runs_code_steps(sqlite_relayflow) -> None:
    rf = sqlite_relayflow
    rf.deploy_text("peek", workflow("peek", PEEK_HOME, with_=f'{{home: "{rf.home}"}}'))
    rf.env["RELAYFLOW_BWRAP"] = "/nonexistent/bwrap"
    refused = rf.cli("test", "peek", "--json", check=False)
    assert refused.returncode == 1
    error = json.loads(refused.stdout)["steps"][0]["error"]
    assert error["name"] == "IsolationError" and UNSAFE_OPT_IN in error["message"]
    rf.env["RELAYFLOW_UNSAFE_CODE_STEPS"] = "1"
    allowed = rf.cli("test", "peek", "--json")
    assert "code steps run WITHOUT isolation (RELAYFLOW_UNSAFE_CODE_STEPS=1 is set)" in (
        allowed.stderr
    )
    # What the opt-in means: the step reads the home like any other process of the user.
    assert "relayflow.db" in json.loads(allowed.stdout)["steps"][0]["return_value"]
