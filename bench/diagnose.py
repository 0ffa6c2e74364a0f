"""`relayflow` with timing probes, for the benchmarks' `--diagnose` (no engine change).

Runs the normal CLI (`python bench/diagnose.py up --home ...`) after wrapping, in this
process only:
  - the writer's transactions (duration, group size),
  - the event loop's lag (how late a 10 ms sleep wakes up),
  - every garbage collection (generation, pause),
and writes them as JSON to $RELAYFLOW_DIAG_OUT when the runtime stops. Experiments:
  RELAYFLOW_DIAG_GC_FREEZE=1       gc.collect(); gc.freeze() once the runtime has started
  RELAYFLOW_DIAG_GC_THRESHOLD=a,b,c  gc.set_threshold(a, b, c) once the runtime has started
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from typing import Any

OUT = os.environ.get("RELAYFLOW_DIAG_OUT")
stats: dict[str, list] = {"tx": [], "lag": [], "gc": []}
_gc_started = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_started[0] = time.perf_counter()
    else:
        pause = time.perf_counter() - _gc_started[0]
        stats["gc"].append((time.time(), info["generation"], pause))


def _install() -> None:
    from relayflow import runtime
    from relayflow.store import writer

    original_tx = writer.Writer._transaction

    def timed_tx(self: Any, conn: Any, group: list) -> Any:
        started = time.perf_counter()
        try:
            return original_tx(self, conn, group)
        finally:
            stats["tx"].append((time.time(), time.perf_counter() - started, len(group)))

    writer.Writer._transaction = timed_tx  # type: ignore[method-assign]

    original_start = runtime.Runtime.start
    original_stop = runtime.Runtime.stop

    async def start(self: Any) -> None:
        await original_start(self)
        if os.environ.get("RELAYFLOW_DIAG_GC_FREEZE"):
            gc.collect()
            gc.freeze()
        threshold = os.environ.get("RELAYFLOW_DIAG_GC_THRESHOLD")
        if threshold:
            gc.set_threshold(*(int(x) for x in threshold.split(",")))
        gc.callbacks.append(_on_gc)

        async def lag() -> None:
            while True:
                started = time.perf_counter()
                await asyncio.sleep(0.01)
                stats["lag"].append((time.time(), time.perf_counter() - started - 0.01))

        self._tasks.append(asyncio.create_task(lag()))

    async def stop(self: Any) -> None:
        await original_stop(self)
        if OUT:
            with open(OUT, "w") as out:
                json.dump(stats, out)

    runtime.Runtime.start = start  # type: ignore[method-assign]
    runtime.Runtime.stop = stop  # type: ignore[method-assign]


def report(path: str, since: float = 0.0, until: float = float("inf")) -> list[str]:
    """Summary lines of a diagnostics file, for the window [since, until] (epoch seconds)."""
    with open(path) as f:
        data = json.load(f)

    def window(rows: list) -> list:
        return [r for r in rows if since <= r[0] <= until]

    def pct(values: list[float], p: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(len(values) * p / 100))] if values else 0.0

    tx, lag, gcs = window(data["tx"]), window(data["lag"]), window(data["gc"])
    lines = []
    if tx:
        ms = [r[1] * 1000 for r in tx]
        sizes = [r[2] for r in tx]
        lines.append(
            f"writer transactions: {len(tx)}, p50 {pct(ms, 50):.2f} ms, p99 {pct(ms, 99):.2f} ms,"
            f" max {max(ms):.1f} ms; batches per transaction p50 {pct(sizes, 50)},"
            f" p90 {pct(sizes, 90)}, max {max(sizes)}"
        )
    if lag:
        ms = [r[1] * 1000 for r in lag]
        lines.append(
            f"event loop lag: p50 {pct(ms, 50):.2f} ms, p90 {pct(ms, 90):.2f} ms,"
            f" p99 {pct(ms, 99):.2f} ms, max {max(ms):.1f} ms"
        )
    seconds = (max(r[0] for r in tx) - min(r[0] for r in tx)) if tx else 0
    for gen in (0, 1, 2):
        ms = [r[2] * 1000 for r in gcs if r[1] == gen]
        if ms:
            lines.append(
                f"gc generation {gen}: {len(ms)} collections, {sum(ms):.0f} ms in total"
                f" ({100 * sum(ms) / 1000 / seconds if seconds else 0:.1f}% of the time),"
                f" max pause {max(ms):.1f} ms"
            )
    stalls = [r for r in lag if r[1] > 0.03]
    if stalls:
        with_gc = sum(
            1
            for t, late in stalls
            if any(t - late - 0.02 <= g[0] <= t + 0.01 and g[1] == 2 for g in gcs)
        )
        lines.append(
            f"loop stalls > 30 ms: {len(stalls)}, {with_gc} of them in a full (gen 2) collection"
        )
    return lines


if __name__ == "__main__":
    _install()
    from relayflow.cli import main

    sys.argv[0] = "relayflow"
    main()
