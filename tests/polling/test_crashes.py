"""Exactly once across kill -9: killed during a poll (between two chunk commits) and
between polls, restarted, every row is emitted once, on SQLite and on PostgreSQL; and two
schedulers polling one source on PostgreSQL emit each row once."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

from conftest import Relayflow

from .helpers import emails, files_workflow, signups, status, wait_emitted, wait_until, write_rows

ROWS = 40_000  # several chunks: enough for a kill to land in the middle of the poll


def everyone(count: int) -> Counter[str]:
    return Counter({f"user{n}@example.com": 1 for n in range(1, count + 1)})


def test_kill_9_during_and_between_polls_neither_loses_nor_repeats_a_row(
    relayflow: Relayflow, tmp_path: Path
):
    rf = relayflow
    data = tmp_path / "data"
    data.mkdir()
    write_rows(data / "big.csv", signups(1, ROWS))
    rf.deploy_text("big", files_workflow("big", data))
    first = rf.start()
    seen = wait_until(lambda: sum(emails(rf, "big").values()), 60, "the first chunk")
    rf.kill(first, signal.SIGKILL)  # during the poll: its later chunks are not committed
    at_kill = sum(emails(rf, "big").values())
    assert 0 < seen <= at_kill < ROWS, "the kill should land while the backlog is emitted"

    second = rf.start()
    assert wait_emitted(rf, "big", ROWS, timeout=120) == everyone(ROWS)
    wait_until(lambda: status(rf, "big")["polling_now"] is None, 30, "the poll to end")
    rf.kill(second, signal.SIGKILL)  # between polls

    write_rows(data / "big.csv", signups(ROWS + 1, 50))
    write_rows(data / "more.csv", signups(ROWS + 51, 50))
    rf.start()
    assert wait_emitted(rf, "big", ROWS + 100, timeout=60) == everyone(ROWS + 100)


def test_two_schedulers_on_postgresql_emit_each_row_once(pg_url: str, tmp_path: Path):
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    data.mkdir()
    rf = Relayflow(home, pg_url)
    try:
        write_rows(data / "s.csv", signups(1, 100))
        rf.deploy_text("shared", files_workflow("shared", data))
        rf.spawn("scheduler")
        rf.spawn("scheduler")
        rf.start("up")  # a third poller, with the worker
        for batch in range(10):
            write_rows(data / "s.csv", signups(101 + batch * 20, 20))
            time.sleep(0.3)
        assert wait_emitted(rf, "shared", 300, timeout=60) == everyone(300)
        assert rf.output().count("relayflow scheduler") == 2
    finally:
        rf.stop_all()
