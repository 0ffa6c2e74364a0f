"""Imports through the API: upload a file, dry-run it, import it, follow its progress."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import httpx

from relayflow.sandbox import SandboxServer

from .helpers import ACCOUNT, Installation, profile


def csv_bytes(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["user_id", "name", "phone"])
    writer.writerows(rows)
    return out.getvalue().encode()


def wait_job(
    api: httpx.Client, job_id: str, statuses: tuple[str, ...], timeout: float = 60
) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = api.get(f"/imports/{job_id}").json()
        if state["status"] in statuses:
            return state
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} is {state['status']}, not {statuses}: {state}")


def test_a_file_is_uploaded_checked_imported_and_its_rejects_downloaded(
    installation: Installation, sandbox: SandboxServer
) -> None:
    rows = [[f"a-{i}", f"A {i}", "555" if i == 3 else f"+1415{i:07d}"] for i in range(1200)]
    with installation.api() as api:
        files = {"file": ("people.csv", csv_bytes(rows), "text/csv")}
        uploaded = api.post("/imports/files", files=files)
        assert uploaded.status_code == 201, uploaded.text
        found = uploaded.json()
        assert found["columns"] == ["user_id", "name", "phone"]
        assert found["sample"][0] == {"user_id": "a-0", "name": "A 0", "phone": "+14150000000"}

        body = {"file": found["file"], "account": ACCOUNT, "identity": "user_id",
                "mapping": {"name": "Name", "phone": "Phone"}}  # fmt: skip
        checked = api.post("/imports", json={**body, "dry_run": True}).json()
        checked = wait_job(api, checked["id"], ("checked", "failed"))
        assert checked["counts"]["rejected"] == 1 and checked["counts"]["sent"] == 0
        assert sandbox.stats()["requests"]["total"] == 0

        started = api.post("/imports", json=body)
        assert started.status_code == 201
        done = wait_job(api, started.json()["id"], ("done", "failed"))
        assert done["status"] == "done", done["error"]
        assert done["counts"] == {"rows": 1200, "sent": 1199, "processed": 1199, "rejected": 1}
        report = api.get(f"/imports/{done['id']}/rejected.csv")
        assert report.headers["content-type"].startswith("text/csv")
        [rejected] = list(csv.DictReader(io.StringIO(report.text)))
        assert rejected["row"] == "4" and rejected["code"] == "516"
        listed = [job["id"] for job in api.get("/imports").json()]
        assert listed[:2] == [done["id"], checked["id"]]
    assert profile(sandbox, "a-1199")["profileData"]["Name"] == "A 1199"


def test_bad_requests_say_what_to_fix(installation: Installation) -> None:
    with installation.api() as api:
        wrong = api.post("/imports/files", files={"file": ("people.txt", b"a,b\n", "text/plain")})
        assert wrong.status_code == 422 and "upload a .csv, .xlsx or .jsonl" in wrong.text
        found = api.post("/imports/files", files={"file": ("p.csv", csv_bytes([]), "text/csv")})
        body = {"file": found.json()["file"], "account": ACCOUNT, "identity": "uid"}
        refused = api.post("/imports", json=body)
        assert refused.status_code == 422
        assert (
            "--identity 'uid' is not a column; the columns are user_id, name, phone"
            in (refused.json()["detail"])
        )
        assert api.get("/imports/nosuchjob1").status_code == 404


def test_an_import_cut_short_by_a_restart_shows_interrupted_and_resumes(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    rf = Installation(home, f"sqlite:///{home / 'relayflow.db'}")
    try:
        first = rf.start()
        fields = {"account_id": sandbox.account_id, "passcode": sandbox.passcode,
                  "endpoint": sandbox.url, "request_limit": "1"}  # fmt: skip
        with rf.api() as api:
            added = api.post(
                "/accounts", json={"app": "clevertap", "name": ACCOUNT, "fields": fields}
            )
            assert added.status_code == 201
        sandbox.set_faults(latency_ms=400)  # one request at a time: 8 chunks take 3.2 s
        rows = [[f"r-{i}", "R", f"+1415{i:07d}"] for i in range(8000)]
        with rf.api() as api:
            found = api.post("/imports/files", files={"file": ("r.csv", csv_bytes(rows))}).json()
            body = {"file": found["file"], "account": ACCOUNT, "identity": "user_id"}
            job = api.post("/imports", json=body).json()
            wait_job(api, job["id"], ("running",))
            time.sleep(1.0)
        rf.kill(first)
        rf.start()
        sandbox.set_faults(latency_ms=0)
        with rf.api() as api:
            assert api.get(f"/imports/{job['id']}").json()["status"] == "interrupted"
            assert api.post(f"/imports/{job['id']}/resume").status_code == 202
            done = wait_job(api, job["id"], ("done", "failed"))
        assert done["status"] == "done" and done["counts"]["processed"] == 8000
        assert profile(sandbox, "r-7999") is not None
    finally:
        rf.stop_all()
