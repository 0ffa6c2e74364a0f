"""`relayflow import clevertap`: files into the sandbox, checked, reported, resumable."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from conftest import RELAYFLOW, Relayflow
from relayflow.sandbox import SandboxServer

from .helpers import profile


@pytest.fixture
def home(tmp_path: Path, sandbox: SandboxServer) -> Iterator[Relayflow]:
    """An installation (no server running) with the account `ct` on the sandbox."""
    found = Relayflow(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'relayflow.db'}")
    found.home.mkdir()
    found.env["RELAYFLOW_CLEVERTAP_RETRY_SECONDS"] = "1"
    found.cli(
        "accounts", "add", "clevertap", "ct", "--account-id", sandbox.account_id,
        "--passcode", sandbox.passcode, "--endpoint", sandbox.url, "--request-limit", "2",
        "--no-test",  # the tests count the requests the sandbox gets
    )  # fmt: skip
    yield found
    found.stop_all()


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def people(count: int, bad: set[int] = frozenset()) -> list[list[object]]:
    return [
        [f"u-{i}", f"User {i}", "4155550100" if i in bad else f"+1415{i:07d}", i % 90]
        for i in range(count)
    ]


def run_import(rf: Relayflow, *args: str, check: bool = True) -> dict:
    result = rf.cli("import", "clevertap", *args, "--json", check=check)
    return json.loads(result.stdout)


def event_count(sandbox: SandboxServer, name: str, day: int) -> int:
    body = {"event_name": name, "from": day, "to": day}
    answer = httpx.post(
        f"{sandbox.url}/1/counts/events.json", headers=sandbox.headers(), json=body
    ).json()
    return answer["count"]


def test_profiles_from_csv_are_imported_and_rejected_rows_reported(
    home: Relayflow, sandbox: SandboxServer, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "users.csv", ["user_id", "name", "phone", "age"],
                       people(2500, bad={7, 1500, 2499}))  # fmt: skip
    state = run_import(
        home, "profiles", str(source), "--account", "ct", "--identity", "user_id",
        "--map", "name=Name", "--map", "phone=Phone", "--map", "age=Age",
    )  # fmt: skip

    assert state["status"] == "done"
    assert state["counts"] == {"rows": 2500, "sent": 2497, "processed": 2497, "rejected": 3}
    uploads = sandbox.stats()["uploads"]
    assert sorted(uploads["records_per_request"]) == [499, 999, 999]  # 1000 rows a chunk
    assert profile(sandbox, "u-2498")["profileData"] == {
        "Name": "User 2498", "Phone": "+14150002498", "Age": 2498 % 90,
    }  # fmt: skip
    with open(state["report"], newline="") as handle:
        rejected = sorted(csv.DictReader(handle), key=lambda r: int(r["row"]))  # chunk order
    assert [r["row"] for r in rejected] == ["8", "1501", "2500"]
    assert rejected[0]["identity"] == "u-7" and rejected[0]["code"] == "516"
    assert "has no country code" in rejected[0]["error"]


def test_a_dry_run_checks_every_row_and_sends_nothing(
    home: Relayflow, sandbox: SandboxServer, tmp_path: Path
) -> None:
    rows = [["a", "+14155550100", "F"], ["b", "+14155550101", "X"], ["", "", "M"]]
    source = write_csv(tmp_path / "users.csv", ["user_id", "Phone", "Gender"], rows)
    result = home.cli(
        "import", "clevertap", "profiles", str(source), "--account", "ct", "--identity",
        "user_id", "--dry-run",
    )  # fmt: skip

    assert "checked 3 rows: 1 would be sent, 2 break CleverTap's rules (nothing was sent)" in (
        result.stdout.replace("\n", " ")
    )
    assert sandbox.stats()["requests"]["total"] == 0
    progress = result.stderr.replace("\n", " ")
    assert "checking users.csv" in progress and "rows/s" in progress and "2 rejected" in progress
    report = next((home.home / "imports").glob("*/rejected.csv"))
    rows = list(csv.DictReader(report.open()))
    assert [(r["row"], r["code"]) for r in rows] == [("2", "514"), ("3", "")]
    assert "the row names no user" in rows[1]["error"]


def test_a_killed_import_resumes_without_losing_a_row(
    home: Relayflow, sandbox: SandboxServer, tmp_path: Path
) -> None:
    # Events are not idempotent: a resumed import may only repeat the requests in flight
    # when it died (2 here, the account's request limit), never skip a row.
    sandbox.set_faults(latency_ms=250)
    rows = [[f"u-{i % 300}", "20240501T10:00:00Z", i] for i in range(12_000)]
    source = write_csv(tmp_path / "clicks.csv", ["user", "at", "n"], rows)
    command = [
        "import", "clevertap", "events", str(source), "--account", "ct", "--identity", "user",
        "--event", "Clicked", "--ts", "at", "--map", "n=N:number",
    ]  # fmt: skip
    proc = subprocess.Popen([*RELAYFLOW, *command], env=home.env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    chunks = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        chunks = next((home.home / "imports").glob("*/chunks.jsonl"), None)
        if chunks is not None and len(chunks.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert chunks is not None
    before = len(chunks.read_text().splitlines())
    assert 3 <= before < 12

    refused = home.cli(*command, check=False)
    assert refused.returncode == 1 and "add --resume to carry on" in refused.stderr
    sandbox.set_faults(latency_ms=0)
    state = run_import(home, *command[2:], "--resume")

    assert state["status"] == "done"
    assert state["counts"]["rows"] == 12_000 and state["counts"]["processed"] == 12_000
    assert len(chunks.read_text().splitlines()) == 12
    stored = event_count(sandbox, "Clicked", 20240501)
    assert 12_000 <= stored <= 12_000 + 2 * 1000, stored


def test_events_from_xlsx_and_json_lines_keep_their_types(
    home: Relayflow, sandbox: SandboxServer, tmp_path: Path
) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["email", "event", "when", "amount", "paid"])
    sheet.append(["ann@example.com", "Charged", datetime(2024, 5, 1, 9), 30.5, True])
    sheet.append(["bob@example.com", "Refunded", datetime(2024, 5, 1, 10), 12, False])
    book.save(tmp_path / "orders.xlsx")
    lines = [{"email": "cy@example.com", "event": "Charged", "when": 1714554000, "amount": 7}]
    (tmp_path / "orders.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")

    for name in ("orders.xlsx", "orders.jsonl"):
        state = run_import(
            home, "events", str(tmp_path / name), "--account", "ct", "--identity", "email",
            "--key", "email", "--event", "event", "--ts", "when",
        )  # fmt: skip
        assert state["status"] == "done", state["error"]
    assert event_count(sandbox, "Charged", 20240501) == 2
    ann = profile(sandbox, "ann@example.com")
    assert ann["events"]["Charged"]["count"] == 1
    cursor = httpx.post(
        f"{sandbox.url}/1/events.json", headers=sandbox.headers(),
        json={"event_name": "Refunded", "from": 20240501, "to": 20240501},
    ).json()["cursor"]  # fmt: skip
    page = httpx.get(
        f"{sandbox.url}/1/events.json", headers=sandbox.headers(), params={"cursor": cursor}
    ).json()
    assert page["records"][0]["event_props"] == {"amount": 12, "paid": False}


def test_a_failed_import_stops_clearly_and_resumes_once_clevertap_is_back(
    home: Relayflow, sandbox: SandboxServer, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "users.csv", ["user_id", "name", "phone", "age"], people(3000))
    sandbox.set_faults(error_rate=1.0)
    args = ["profiles", str(source), "--account", "ct", "--identity", "user_id"]
    failed = run_import(home, *args, check=False)
    assert failed["status"] == "failed"
    assert "answered 503" in failed["error"] and "can be resumed" in failed["error"]

    sandbox.set_faults(error_rate=0.0)
    state = run_import(home, *args, "--resume")
    assert state["status"] == "done" and state["counts"]["processed"] == 3000
    assert profile(sandbox, "u-2999") is not None


def test_a_wrong_column_is_refused_before_anything_is_read(
    home: Relayflow, sandbox: SandboxServer, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "users.csv", ["user_id", "name"], [["a", "A"]])
    result = home.cli(
        "import", "clevertap", "profiles", str(source), "--account", "ct", "--identity", "uid",
        "--map", "nmae=Name",
    check=False)  # fmt: skip
    assert result.returncode == 1
    assert "--identity 'uid' is not a column; the columns are user_id, name" in result.stderr
    assert "--map 'nmae' is not a column" in result.stderr
    assert sandbox.stats()["requests"]["total"] == 0
