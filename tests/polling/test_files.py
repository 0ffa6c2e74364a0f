"""files.new_rows on a running relayflow: appended rows and new files once each, backfill,
malformed lines and rewritten files reported, failing polls retried, Excel sheets, and
`poll now` with and without a dry run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import openpyxl

from conftest import Relayflow

from .helpers import (
    events_of,
    files_workflow,
    signups,
    status,
    wait_emitted,
    wait_until,
    write_rows,
)


def once(numbers: range) -> Counter[str]:
    return Counter({f"user{n}@example.com": 1 for n in numbers})


def test_appended_rows_and_new_files_are_emitted_once(installation: Relayflow, data: Path):
    rf = installation
    write_rows(data / "a.csv", signups(1, 3))
    rf.deploy_text("appended", files_workflow("appended", data))
    assert wait_emitted(rf, "appended", 3) == once(range(1, 4))
    write_rows(data / "a.csv", signups(4, 2))
    write_rows(data / "b.csv", signups(6, 2))
    assert wait_emitted(rf, "appended", 7) == once(range(1, 8))
    events = events_of(rf, "appended")
    assert [(e["file"], e["rowNumber"]) for e in events] == [
        ("a.csv", 2), ("a.csv", 3), ("a.csv", 4), ("a.csv", 5), ("a.csv", 6),
        ("b.csv", 2), ("b.csv", 3),
    ]  # fmt: skip
    assert events[0]["row"] == {"user_id": "u-1", "email": "user1@example.com", "plan": "pro"}
    assert events[0]["newRow"] == ["u-1", "user1@example.com", "pro"]
    assert events[0]["sheet"] is None
    run = rf.wait_runs(1)[0]
    assert rf.inspect(run["id"])["steps"][0]["return_value"].startswith("user")


def test_first_poll_emits_only_the_backfill_most_recent_rows(installation: Relayflow, data: Path):
    rf = installation
    write_rows(data / "old.csv", signups(1, 30))
    rf.deploy_text("recent", files_workflow("recent", data, backfill=5))
    assert wait_emitted(rf, "recent", 5) == once(range(26, 31))
    write_rows(data / "old.csv", signups(31, 2))
    assert wait_emitted(rf, "recent", 7) == once(range(26, 33))


def test_a_malformed_line_is_reported_by_file_and_line_and_later_rows_flow(
    installation: Relayflow, data: Path
):
    rf = installation
    path = data / "signups.csv"
    write_rows(path, signups(1, 2))
    with path.open("a", encoding="utf-8") as file:
        file.write('u-x,"broken@example.com,pro\n')  # a quote that is never closed
    write_rows(path, signups(3, 2))
    rf.deploy_text("malformed", files_workflow("malformed", data))
    assert wait_emitted(rf, "malformed", 4) == once(range(1, 5))
    unclosed = 'signups.csv line 4: a quote (") opened on this line is not closed'
    assert status(rf, "malformed")["last_error"] == unclosed
    with path.open("a", encoding="utf-8") as file:
        file.write("u-y,only-two-fields\n")
    write_rows(path, signups(5, 1))
    assert wait_emitted(rf, "malformed", 5) == once(range(1, 6))
    expected = "signups.csv line 7: 2 fields where the header has 3 (user_id, email, plan)"
    assert status(rf, "malformed")["last_error"] == expected
    assert status(rf, "malformed")["state"] == "ok"  # the poll itself went well
    with rf.api() as api:
        skipped = api.get("/workflows/malformed/deliveries").json()["skipped"]
    assert [d["reason"] for d in skipped if d["outcome"] == "problem"][:2] == [expected, unclosed]


def test_a_rewritten_file_is_reported_and_not_emitted_again(installation: Relayflow, data: Path):
    rf = installation
    path = data / "export.csv"
    write_rows(path, signups(1, 3))
    rf.deploy_text("rewritten", files_workflow("rewritten", data))
    wait_emitted(rf, "rewritten", 3)
    path.unlink()
    write_rows(path, list(reversed(signups(1, 3))) + signups(4, 1))  # reordered, one more
    wait_until(lambda: "rewritten" in (status(rf, "rewritten")["last_error"] or ""), 15)
    assert "export.csv was rewritten" in status(rf, "rewritten")["last_error"]
    write_rows(path, signups(5, 1))
    assert wait_emitted(rf, "rewritten", 4) == once([1, 2, 3, 5])


def test_a_failing_poll_is_retried_with_backoff_and_the_other_sources_keep_flowing(
    installation: Relayflow, data: Path
):
    rf = installation
    missing = data / "not-yet"
    rf.deploy_text("failing", files_workflow("failing", missing))
    write_rows(data / "fine.csv", signups(1, 2))
    rf.deploy_text("flowing", files_workflow("flowing", data / "fine.csv"))
    found = wait_until(
        lambda: (s := status(rf, "failing"))["failures"] >= 2 and s, 20, "two failed polls"
    )
    assert found["state"] == "failing"
    assert found["last_error"] == f"{missing} does not exist (or relayflow may not read it)"
    assert found["next_poll_at"] > found["last_poll_at"]
    assert wait_emitted(rf, "flowing", 2) == once(range(1, 3))
    shown = json.loads(rf.cli("workflows", "show", "failing", "--json").stdout)["polling"]
    assert shown["last_error"] == found["last_error"]
    text = rf.cli("workflows", "show", "failing").stdout
    assert "failing" in text and "does not exist" in text and "next poll" in text
    missing.mkdir()
    write_rows(missing / "late.csv", signups(10, 2))
    assert wait_emitted(rf, "failing", 2, timeout=30) == once(range(10, 12))
    assert status(rf, "failing")["state"] == "ok"


def test_rows_of_an_excel_sheet(installation: Relayflow, data: Path):
    rf = installation
    path = data / "leads.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Leads"
    for row in [["user_id", "email", "plan"], *signups(1, 2)]:
        sheet.append(row)
    book.save(path)
    rf.deploy_text("excel", files_workflow("excel", data))
    assert wait_emitted(rf, "excel", 2) == once(range(1, 3))
    sheet.append(signups(3, 1)[0])
    book.save(path)
    assert wait_emitted(rf, "excel", 3) == once(range(1, 4))
    event = events_of(rf, "excel")[-1]
    assert event["newRow"] == ["u-3", "user3@example.com", "pro"] and event["rowNumber"] == 4


def test_poll_now_shows_a_dry_run_then_emits(installation: Relayflow, data: Path):
    rf = installation
    write_rows(data / "s.csv", signups(1, 2))
    rf.deploy_text("by-hand", files_workflow("by-hand", data, every="1h"))
    wait_emitted(rf, "by-hand", 2)  # the first poll follows the deploy
    write_rows(data / "s.csv", signups(3, 2))
    dry = json.loads(rf.cli("sources", "poll", "by-hand", "--dry-run", "--json").stdout)
    assert dry["would_emit"] == 2 and [e["row"]["user_id"] for e in dry["events"]] == [
        "u-3",
        "u-4",
    ]
    with rf.api() as api:
        answer = api.post("/workflows/by-hand/poll", params={"dry_run": "true"}).json()
    assert answer["would_emit"] == 2
    assert len(events_of(rf, "by-hand")) == 2  # a dry run emits nothing
    done = json.loads(rf.cli("sources", "poll", "by-hand", "--json").stdout)
    assert done["emitted"] == 2 and len(done["run_ids"]) == 2
    assert wait_emitted(rf, "by-hand", 4) == once(range(1, 5))
    again = json.loads(rf.cli("sources", "poll", "by-hand", "--json").stdout)
    assert again["emitted"] == 0
