"""Concurrent updates from many runs and processes lose nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import Stores

WORKER = Path(__file__).with_name("incr_worker.py")


def _race(url: str, mode: str, processes: int, count: int) -> list[int]:
    start_at = time.time() + 3  # after every process has imported and connected
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), url, mode, str(count), str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    retries = []
    for proc in procs:
        out, errors = proc.communicate(timeout=240)
        assert proc.returncode == 0, errors
        retries.append(int(out.strip()))
    return retries


@pytest.mark.timeout(300)
def test_concurrent_increments_from_many_processes_lose_no_update(ds: Stores) -> None:
    ds.run(ds.stores.set("race", "counter", 0))
    _race(ds.url, "incr", processes=4, count=200)
    assert ds.run(ds.stores.get("race", "counter")) == 800


@pytest.mark.timeout(300)
def test_compare_and_set_loops_from_many_processes_lose_no_update(ds: Stores) -> None:
    retries = _race(ds.url, "cas", processes=4, count=50)
    assert ds.run(ds.stores.get("race", "counter")) == 200
    assert sum(retries) > 0  # they really did collide, and compare_and_set caught it


def test_many_concurrent_increments_in_one_process_are_all_counted(ds: Stores) -> None:
    stores = ds.stores

    async def work() -> list:
        return list(await asyncio.gather(*(stores.incr("tasks", "n") for _ in range(500))))

    results = ds.run(work())
    assert sorted(results) == list(range(1, 501))  # each saw a distinct value
    assert ds.run(stores.get("tasks", "n")) == 500


def test_set_if_absent_has_exactly_one_winner(ds: Stores) -> None:
    stores = ds.stores

    async def work() -> list:
        return list(
            await asyncio.gather(*(stores.set_if_absent("locks", "job", n) for n in range(100)))
        )

    assert ds.run(work()).count(True) == 1
