"""The host's process table, as the tests see it from outside any sandbox (/proc)."""

from __future__ import annotations

import os
import time


def _alive(pid: int) -> bool:
    """Running or sleeping; a zombie awaiting its reaper is dead."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b") ", 1)[1][:1] != b"Z"
    except (OSError, IndexError):
        return False


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def running(marker: str) -> list[int]:
    """Live processes whose command line contains `marker`."""
    found = []
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if marker.encode() in cmdline.read() and _alive(pid):
                    found.append(pid)
        except OSError:
            continue
    return found


def descendants(pid: int) -> set[int]:
    """Live processes below `pid` (children, theirs, ...)."""
    parents: dict[int, int] = {}
    for each in _pids():
        try:
            with open(f"/proc/{each}/stat", "rb") as stat:
                parents[each] = int(stat.read().rsplit(b") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {p for p in found if _alive(p)}


def wait_until_gone(marker: str, timeout: float = 5.0) -> list[int]:
    """Wait (bounded) until no live process has `marker`; returns those still there."""
    deadline = time.monotonic() + timeout
    left = running(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = running(marker)
    return left


def assert_dead(*pids: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [p for p in pids if _alive(p)]
    assert not alive, f"processes {alive} are still running"
