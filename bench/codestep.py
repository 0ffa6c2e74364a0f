"""Code-step overhead: what running `def handler(pd): return 1` in the pool costs.

Calls CodePool directly (no engine, no database on the step path), with a warm pool:

(a) latency: one step at a time, the same workflow, after a warm-up; p50/p99/max of
    `await pool.run(request)` with an empty event and with a ~2 KB trigger event.
(b) throughput: steps/s with C steps in flight at once (one workflow, and spread over
    several workflows, each of which gets processes of its own).
(c) cold paths: starting a process (spawn → ready), and the first step of a workflow
    that has no process yet (it takes a warm spare).
(d) a data-store round trip from a step (`ds.incr`) on SQLite, per call.

Goal: trivial-step overhead <= 1 ms p50 with a warm pool.

    .venv/bin/python bench/codestep.py [--size 2] [--calls 5000] [--seconds 3]
                                       [--concurrency 1,2,4,8] [--loop uvloop|asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from common import log, percentile, print_table
from relayflow.codestep import CodePool, CodeRequest
from relayflow.codestep.process import CodeProcess

TRIVIAL = "def handler(pd):\n    return 1\n"
STORE_STEP = "def handler(pd):\n    return pd.inputs['ds'].incr('n')\n"
EVENT = {
    "body": {
        "user_id": 42,
        "email": "ada@example.com",
        "profile": {f"field_{i}": f"value number {i}" for i in range(60)},
    },
    "headers": {"content-type": "application/json", "user-agent": "bench"},
}


def request(source: str = TRIVIAL, workflow: str = "bench", event: dict | None = None, **kw):
    steps = {"trigger": {"event": event or {}, "context": {"id": "evt"}}}
    return CodeRequest(source, f"{workflow}:step", steps, kw.pop("inputs", {}), {}, **kw,
                       workflow=workflow)  # fmt: skip


async def latency(pool: CodePool, calls: int, event: dict | None) -> list[float]:
    req = request(event=event)
    for _ in range(200):
        await pool.run(req)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        result = await pool.run(req)
        times.append((time.perf_counter() - started) * 1000)
        assert result.error is None, result.error
    return times


async def throughput(pool: CodePool, concurrency: int, seconds: float, workflows: int) -> float:
    reqs = [request(workflow=f"bench-{n % workflows}") for n in range(concurrency)]
    for req in reqs:  # give every workflow its processes before timing
        await pool.run(req)
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop(req: CodeRequest) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await pool.run(req)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop(r) for r in reqs))
    return done / (time.perf_counter() - started)


async def cold(python: str, samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        worker = CodeProcess(python, 512, ("bench", 512, None))
        started = time.perf_counter()
        await worker.start()
        times.append((time.perf_counter() - started) * 1000)
        await worker.stop()
    return times


async def first_step_of_new_workflows(pool: CodePool, samples: int) -> list[float]:
    times = []
    for n in range(samples):
        await asyncio.sleep(0.3)  # let the pool top its spares up again
        started = time.perf_counter()
        await pool.run(request(workflow=f"new-{n}-{os.getpid()}"))
        times.append((time.perf_counter() - started) * 1000)
    return times


async def store_round_trips(size: int, calls: int) -> list[float]:
    from relayflow.datastores import DataStores
    from relayflow.store.database import Database
    from relayflow.store.writer import Writer

    with tempfile.TemporaryDirectory(prefix="relayflow-bench-codestep-") as home:
        db = Database(f"sqlite:///{Path(home) / 'relayflow.db'}")
        db.upgrade()
        writer = Writer(db)
        writer.start()
        pool = CodePool(size=size, data_stores=DataStores(db, writer).handle)
        try:
            req = request(STORE_STEP, inputs={"ds": {"$data_store": "bench"}})
            for _ in range(20):
                await pool.run(req)
            times = []
            for _ in range(calls):
                started = time.perf_counter()
                result = await pool.run(req)
                times.append((time.perf_counter() - started) * 1000)
                assert result.error is None, result.error
            return times
        finally:
            await pool.close()
            writer.stop()


def summary(times: list[float]) -> str:
    return (
        f"p50 {percentile(times, 50):.3f} ms  p99 {percentile(times, 99):.3f} ms"
        f"  max {max(times):.2f} ms  (n={len(times)})"
    )


async def main(args: argparse.Namespace) -> dict:
    figures: dict = {"pool_size": args.size, "loop": args.loop, "cpus": os.cpu_count()}
    pool = CodePool(size=args.size)
    started = time.perf_counter()
    await pool.start()
    figures["pool_start_ms"] = (time.perf_counter() - started) * 1000
    figures["max_workers"] = pool.max_workers
    rows = [("pool", f"size {args.size} (spares), max {pool.max_workers} processes, {args.loop}")]
    try:
        log("latency, empty event")
        empty = await latency(pool, args.calls, None)
        rows.append(("trivial step, empty event", summary(empty)))
        log("latency, 2 KB event")
        event = await latency(pool, args.calls, EVENT)
        rows.append((f"trivial step, {len(json.dumps(EVENT))} B event", summary(event)))
        figures["latency_ms"] = {
            "empty": {"p50": percentile(empty, 50), "p99": percentile(empty, 99)},
            "event_2kb": {"p50": percentile(event, 50), "p99": percentile(event, 99)},
        }
        figures["throughput"] = {}
        for conc in [int(c) for c in args.concurrency.split(",")]:
            for workflows in sorted({1, conc}):
                log(f"throughput, {conc} in flight, {workflows} workflow(s)")
                rate = await throughput(pool, conc, args.seconds, workflows)
                figures["throughput"][f"c{conc}_w{workflows}"] = rate
                rows.append((f"steps/s, {conc} in flight, {workflows} workflow(s)", f"{rate:,.0f}"))
    finally:
        await pool.close()
    log("first step of a workflow that has no process yet (a fresh pool's spares)")
    fresh = CodePool(size=args.size)
    await fresh.start()
    try:
        first = await first_step_of_new_workflows(fresh, 10)
    finally:
        await fresh.close()
    rows.append(("first step of a new workflow (takes a spare)", summary(first)))
    figures["first_step_ms_p50"] = percentile(first, 50)
    log("process start")
    spawn = await cold(pool.python, 10)
    rows.append(("process start (spawn → ready)", summary(spawn)))
    figures["process_start_ms_p50"] = percentile(spawn, 50)
    log("data-store round trip from a step (SQLite)")
    store = await store_round_trips(args.size, min(args.calls, 2000))
    rows.append(("step doing ds.incr (SQLite)", summary(store)))
    figures["store_incr_ms"] = {"p50": percentile(store, 50), "p99": percentile(store, 99)}
    print()
    print_table(rows)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2, help="pool size (warm spares)")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", default="1,2,4,8")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    options = parser.parse_args()
    if options.loop == "uvloop":
        import uvloop

        result = uvloop.run(main(options))
    else:
        result = asyncio.run(main(options))
    if options.json:
        print(json.dumps(result, indent=2))
