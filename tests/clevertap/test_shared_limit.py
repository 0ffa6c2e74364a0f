"""One request limit per CleverTap account across every process of an installation.

CleverTap answers 429 beyond an account's concurrent requests. The limit is held in
PostgreSQL advisory locks (server + workers) and in lock files on SQLite, so processes
together stay within it; the sandbox counts what it really saw at once.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from relayflow.sandbox import SandboxServer
from relayflow.store.database import Database
from relayflow.store.slots import AdvisorySlots, FileSlots

from .helpers import Installation

LIMIT = 4
# One profile lookup per run: lookups are not batched, so every run is a request.
LOOKUPS = """
name: lookups
trigger:
  http: {path: lookups}
steps:
  - name: look_up
    uses: clevertap.get_profile
    account: limited
    with:
      identity: "{{ steps.trigger.event.body.user }}"
settings:
  concurrency: 500
"""


def test_three_workers_never_exceed_the_accounts_limit_together(
    pg_url: str, tmp_path: Path
) -> None:
    # Each worker alone may send LIMIT requests at once; three would send 3 x LIMIT if the
    # limit were per process. The sandbox refuses anything beyond LIMIT with a 429.
    with SandboxServer(concurrency_limit=LIMIT, latency_ms=150) as sandbox:
        home = tmp_path / "home"
        home.mkdir()
        rf = Installation(home, pg_url, {"RELAYFLOW_CLEVERTAP_RETRY_SECONDS": "2"})
        try:
            rf.start("server")
            workers = [rf.spawn("worker") for _ in range(3)]
            with rf.api() as api:
                fields = {
                    "account_id": sandbox.account_id,
                    "passcode": sandbox.passcode,
                    "endpoint": sandbox.url,
                    "request_limit": str(LIMIT),
                }
                # untested: the test counts the profile reads the sandbox gets
                body = {"app": "clevertap", "name": "limited", "fields": fields, "test": False}
                assert api.post("/accounts", json=body).status_code == 201
            rf.deploy(LOOKUPS)
            time.sleep(1)  # the workers see the new workflow
            rf.post_many("lookups", [{"user": f"u-{i}"} for i in range(150)])
            runs = rf.wait_finished("lookups", 150, timeout=120)
            stats = sandbox.stats()
        finally:
            rf.stop_all()

    assert {r["status"] for r in runs} == {"succeeded"}, [r["error"] for r in runs][:3]
    assert all(w.returncode is not None for w in workers)
    assert stats["requests"]["by_path"]["/1/profile.json"] == 150
    assert stats["requests"]["by_status"] == {"200": 150}  # not one 429
    peak = stats["concurrency"][sandbox.account_id]["peak"]
    assert peak <= LIMIT
    print(f"\n3 workers, 150 lookups: at most {peak} of {LIMIT} requests at once")
    assert peak == LIMIT  # the limit was reached (and shared), not merely never approached


def _slots(where: str, size: int) -> Any:
    """Lock files in the folder `where`, or advisory locks in the PostgreSQL at `where`."""
    if where.startswith("postgresql://"):
        return AdvisorySlots(Database(where), "clevertap:ACC", size)
    return FileSlots(Path(where), "clevertap:ACC", size)


def _hold_slots(where: str, size: int, until: Any, results: Any) -> None:
    """Take all `size` slots, say so, hold them until `until` is set, then let go."""

    async def main() -> None:
        slots = _slots(where, size)
        taken = [await slots.acquire() for _ in range(size)]
        results.put(sorted(taken))
        while not until.is_set():
            await asyncio.sleep(0.02)
        for slot in taken:
            await slots.release(slot)

    asyncio.run(main())


def test_on_sqlite_processes_share_the_slots_through_lock_files(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    results, first_done, second_done = context.Queue(), context.Event(), context.Event()
    first = context.Process(target=_hold_slots, args=(str(tmp_path), 2, first_done, results))
    second = context.Process(target=_hold_slots, args=(str(tmp_path), 2, second_done, results))
    first.start()
    assert results.get(timeout=20) == [0, 1]
    second.start()
    time.sleep(1.5)  # time enough to start and try: it must be waiting for the first
    assert results.empty()
    first_done.set()
    assert results.get(timeout=20) == [0, 1]
    second_done.set()
    first.join(10)
    second.join(10)
    assert first.exitcode == second.exitcode == 0


@pytest.mark.parametrize("kind", ["files", "postgresql"])
def test_a_killed_process_leaves_no_slot_taken(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = request.getfixturevalue("pg_url") if kind == "postgresql" else str(tmp_path)
    context = multiprocessing.get_context("spawn")
    results, never = context.Queue(), context.Event()
    holder = context.Process(target=_hold_slots, args=(where, 2, never, results))
    holder.start()
    assert results.get(timeout=20) == [0, 1]

    async def take_both(wait: float) -> list[int]:
        slots = _slots(where, 2)
        return [await asyncio.wait_for(slots.acquire(), wait) for _ in range(2)]

    with pytest.raises(TimeoutError):
        asyncio.run(take_both(0.3))  # while it lives, its slots are taken
    holder.kill()
    holder.join(10)
    assert sorted(asyncio.run(take_both(5))) == [0, 1]
