"""`relayflow up` as a server process and worker processes: acks never wait on execution,
a dead worker is replaced and its runs resume, batches are not capped by `concurrency`, and
SIGTERM stops everything within seconds, handing unfinished runs back."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clevertap.helpers import Installation
from conftest import Relayflow, free_port
from receiver import Receiver
from relayflow.sandbox import SandboxServer

CALL = """\
name: {name}
trigger: {{http: {{path: {name}}}}}
steps:
  - name: call
    uses: http.request
    with:
      url: "{url}/hit?key={{{{ steps.trigger.context.run_id }}}}"
settings:
  concurrency: {concurrency}
"""
SIGNUP = """\
name: signup
trigger: {http: {path: signup}}
steps:
  - name: upsert_user
    uses: clevertap.upload_profile
    account: clevertap-test
    with:
      identity: "{{ steps.trigger.event.body.user_id }}"
      name: "{{ steps.trigger.event.body.name }}"
  - name: welcome
    uses: clevertap.upload_event
    account: clevertap-test
    with:
      identity: "{{ steps.trigger.event.body.user_id }}"
      event_name: Signed Up
"""


def worker_pids(up_pid: int) -> list[int]:
    """The worker processes `relayflow up` started (its children running `worker`)."""
    pids = []
    for task in Path(f"/proc/{up_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if b"worker" in cmdline:
                pids.append(int(child))
    return pids


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} (waited {timeout:g}s)")


def statuses(rf: Relayflow, workflow: str) -> dict[str, int]:
    db = sqlite3.connect(f"file:{rf.home / 'relayflow.db'}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute(
            "SELECT r.status, COUNT(*) FROM runs r JOIN workflows w ON w.id = r.workflow_id"
            " WHERE w.name = ? GROUP BY r.status",
            (workflow,),
        ).fetchall()
    finally:
        db.close()
    return dict(rows)


def post(rf: Relayflow, path: str, count: int, **body) -> list[str]:
    with httpx.Client(base_url=rf.url, timeout=10) as client:
        answers = [client.post(f"/hooks/{path}", json={"n": n, **body}) for n in range(count)]
    assert [a.status_code for a in answers] == [200] * count
    return [a.json()["run_id"] for a in answers]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Installation]:
    """One `relayflow up` on SQLite (its default lease of 30 s: nothing here waits for one)."""
    home = tmp_path_factory.mktemp("processes") / "home"
    home.mkdir()
    rf = Installation(home, f"sqlite:///{home / 'relayflow.db'}")
    rf.deploy_text("calls", CALL.format(name="calls", url=receiver.url, concurrency=10))
    proc = rf.start()
    wait_for(lambda: worker_pids(proc.pid), 30, "up started no worker process")
    yield rf
    rf.stop_all()


def test_webhooks_are_acknowledged_while_the_worker_cannot_run(up: Relayflow):
    (proc,) = up.procs
    post(up, "calls", 1)
    wait_for(lambda: statuses(up, "calls").get("succeeded"), 30, "the first run did not finish")
    (worker,) = worker_pids(proc.pid)
    os.kill(worker, signal.SIGSTOP)  # as busy as a worker can be
    try:
        run_ids = post(up, "calls", 20)
        assert len(set(run_ids)) == 20
        assert statuses(up, "calls").get("queued") == 20  # durable, waiting for the worker
    finally:
        os.kill(worker, signal.SIGCONT)
    wait_for(lambda: statuses(up, "calls") == {"succeeded": 21}, 30, "the runs did not finish")


def test_a_killed_worker_process_is_replaced_and_its_runs_resume(
    up: Relayflow, receiver: Receiver
):
    (proc,) = up.procs
    (worker,) = worker_pids(proc.pid)
    receiver.delay = 1.0
    try:
        up.deploy_text("slow", CALL.format(name="slow", url=receiver.url, concurrency=5))
        wait_for(lambda: httpx.options(f"{up.url}/hooks/slow").status_code == 204, 10, "no route")
        post(up, "slow", 5)
        wait_for(lambda: statuses(up, "slow").get("running") == 5, 30, "the runs did not start")
        os.kill(worker, signal.SIGKILL)
        replaced = wait_for(
            lambda: [p for p in worker_pids(proc.pid) if p != worker], 30, "no new worker"
        )
        receiver.delay = 0.0
        # Its leases were released at once: the runs finish long before a 30 s lease expires.
        wait_for(lambda: statuses(up, "slow") == {"succeeded": 5}, 20, "the runs did not resume")
    finally:
        receiver.delay = 0.0
    assert replaced and proc.poll() is None
    assert f"worker process {worker} exited (killed by SIGKILL)" in up.output()


def test_batched_uploads_are_not_capped_by_the_workflow_concurrency(
    up: Installation, tmp_path: Path
):
    with SandboxServer(db_path=tmp_path / "sandbox.db") as sandbox:
        up.add_account("clevertap-test", sandbox)
        up.deploy_text("signup", SIGNUP + "settings: {concurrency: 10}\n")
        wait_for(lambda: httpx.options(f"{up.url}/hooks/signup").status_code == 204, 10, "route")
        (worker,) = worker_pids(up.procs[0].pid)
        os.kill(worker, signal.SIGSTOP)  # let 300 sign-ups queue up, then start the worker
        try:
            with httpx.Client(base_url=up.url, timeout=10) as client:
                for n in range(300):
                    body = {"user_id": f"user-{n}", "name": f"User {n}"}
                    assert client.post("/hooks/signup", json=body).status_code == 200
        finally:
            os.kill(worker, signal.SIGCONT)
        wait_for(lambda: statuses(up, "signup") == {"succeeded": 300}, 60, "runs unfinished")
        uploads = sandbox.stats()["uploads"]
    assert uploads["records"] == 600 and uploads["processed"] == 600
    # 300 runs claimed together: each step's records share requests far beyond 10.
    assert uploads["max_records_per_request"] >= 100, uploads["records_per_request"]
    assert uploads["requests"] <= 12, uploads["records_per_request"]


def test_sigterm_stops_up_within_seconds_and_hands_back_unfinished_runs(
    sqlite_relayflow: Relayflow, receiver: Receiver
):
    rf = sqlite_relayflow
    receiver.delay = 30.0  # longer than anyone waits at a stop
    try:
        rf.deploy_text("stuck", CALL.format(name="stuck", url=receiver.url, concurrency=3))
        proc = rf.start()
        wait_for(lambda: worker_pids(proc.pid), 30, "up started no worker process")
        acknowledged = post(rf, "stuck", 6)
        wait_for(lambda: statuses(rf, "stuck").get("running") == 3, 30, "no runs started")
        stopping = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
        took = time.monotonic() - stopping
    finally:
        receiver.delay = 0.0
    # uvicorn re-raises the signal once it has shut down cleanly
    assert proc.returncode in (0, -signal.SIGTERM), rf.output()
    assert took < 10, f"up took {took:.1f}s to stop"
    db = sqlite3.connect(rf.home / "relayflow.db")
    rows = db.execute("SELECT id, status, lease_owner FROM runs").fetchall()
    assert sorted(r[0] for r in rows) == sorted(acknowledged)  # every ack was flushed
    # The three running runs were handed back, not left to a lease expiring in 30 s.
    assert [(status, owner) for _id, status, owner in rows] == [("queued", None)] * 6
    rf.procs.clear()
    rf.start()
    wait_for(lambda: statuses(rf, "stuck") == {"succeeded": 6}, 20, "the runs did not resume")


def test_worker_processes_split_a_workflows_concurrency(sqlite_relayflow: Relayflow):
    """With two worker processes, a workflow at its limit runs in both, half each: the
    first to claim must not take every slot (and reclaim each as it frees), leaving the
    other process, and its core, idle."""
    rf = sqlite_relayflow
    with Receiver() as slow:
        slow.delay = 1.5
        rf.deploy_text("split", CALL.format(name="split", url=slow.url, concurrency=4))
        rf.port = rf.port or free_port()
        proc = rf.spawn("up", "--workers", "2", "--port", str(rf.port))
        rf.wait_healthy(proc)
        wait_for(lambda: len(worker_pids(proc.pid)) == 2, 30, "up did not start two workers")
        post(rf, "split", 8)
        wait_for(lambda: statuses(rf, "split").get("running") == 4, 30, "4 runs did not start")
        db = sqlite3.connect(f"file:{rf.home / 'relayflow.db'}?mode=ro", uri=True, timeout=30)
        try:
            held = db.execute(
                "SELECT lease_owner, COUNT(*) FROM runs WHERE status = 'running'"
                " GROUP BY lease_owner"
            ).fetchall()
        finally:
            db.close()
        assert sorted(count for _owner, count in held) == [2, 2], held
        wait_for(lambda: statuses(rf, "split") == {"succeeded": 8}, 30, "the runs did not end")
