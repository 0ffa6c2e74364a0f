"""Code-step overhead: what running `def handler(pd): return 1` in the pool costs, and the
same trivial step in Node.js (`export default defineComponent({ async run() { return 1 } })`).

Calls CodePool directly (no engine, no database on the step path), with a warm pool:

(a) latency: one step at a time, the same workflow, after a warm-up; p50/p99/max of
    `await pool.run(request)` with an empty event and with a ~2 KB trigger event.
(b) throughput: steps/s with C steps in flight at once (one workflow, and spread over
    several workflows, each of which gets processes of its own).
(c) cold paths: starting a process (spawn → ready), and the first step of a workflow
    that has no process yet (it takes a warm spare).
(d) a data-store round trip from a step (`ds.incr`) on SQLite, per call.
(e) Node.js: latency of the trivial component in the Node.js pool (as (a)), and its process
    start.

Beside wall-clock times, CPU time per step: the pool's own process, and the code-step
processes (with a sandbox: bubblewrap and the interpreter in it), read from /proc, which
the noise of other work on the machine does not inflate as much.

Goal: trivial-step overhead <= 1 ms p50 with a warm pool, in either language.

    .venv/bin/python bench/codestep.py [--size 2] [--calls 5000] [--seconds 3]
                                       [--concurrency 1,2,4,8] [--loop uvloop|asyncio]
                                       [--no-egress]  (without the egress socket guard)
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
from relayflow.codestep import NODE, CodePool, CodeRequest
from relayflow.codestep.process import CodeProcess

TRIVIAL = "def handler(pd):\n    return 1\n"
TRIVIAL_NODE = "export default defineComponent({\n  async run({ steps, $ }) { return 1; },\n});\n"
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
    if kw.get("runtime") == "nodejs":
        source = TRIVIAL_NODE if source == TRIVIAL else source
    steps = {"trigger": {"event": event or {}, "context": {"id": "evt"}}}
    return CodeRequest(source, f"{workflow}:step", steps, kw.pop("inputs", {}), {}, **kw,
                       workflow=workflow)  # fmt: skip


def processes_cpu(roots: list[int]) -> float:
    """CPU seconds used so far by `roots` and every process below them."""
    parents, cpu = {}, {}
    tick = os.sysconf("SC_CLK_TCK")
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_bytes().rsplit(b") ", 1)[1].split()
        except OSError:
            continue
        parents[int(name)] = int(fields[1])
        cpu[int(name)] = (int(fields[11]) + int(fields[12])) / tick
    found, frontier = set(roots), set(roots)
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return sum(cpu.get(p, 0.0) for p in found)


async def latency(
    pool: CodePool, calls: int, event: dict | None, workflow: str
) -> tuple[list[float], dict]:
    """Wall-clock ms per step, and CPU µs per step (pool process, code-step processes).
    Each phase has a workflow (so a process) of its own, which stays below `max_calls`."""
    req = request(event=event, workflow=workflow, runtime=pool.runtime.name)
    for _ in range(200):
        await pool.run(req)
    workers = [w.pid for w in pool._workers if w.pid]
    times = []
    own, theirs = time.process_time(), processes_cpu(workers)
    for _ in range(calls):
        started = time.perf_counter()
        result = await pool.run(req)
        times.append((time.perf_counter() - started) * 1000)
        assert result.error is None, result.error
    cpu = {
        "pool_us": (time.process_time() - own) / calls * 1e6,
        "code_processes_us": (processes_cpu(workers) - theirs) / calls * 1e6,
    }
    return times, cpu


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


async def cold(pool: CodePool, samples: int) -> tuple[list[float], float]:
    """Spawn → ready of a process as `pool` starts them (in its sandbox, if it has one):
    wall-clock ms each, and the mean CPU ms its processes used to get there."""
    make = getattr(pool, "_process", None)  # absent before code steps were sandboxed
    times, cpu = [], 0.0
    for _ in range(samples):
        key = (pool.python, 512, None)
        worker = make(*key) if make else CodeProcess(*key)
        started = time.perf_counter()
        await worker.start()
        times.append((time.perf_counter() - started) * 1000)
        cpu += processes_cpu([worker.pid])
        await worker.stop()
    return times, cpu / samples * 1000


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


async def node_figures(args: argparse.Namespace, figures: dict) -> list[tuple[str, str]]:
    """(e): the trivial step and a process start in the Node.js pool."""
    problem = NODE.problem()
    if problem:
        log(f"Node.js skipped: {problem}")
        return [("Node.js trivial step", f"skipped: {problem}")]
    pool = CodePool(size=args.size, runtime=NODE)
    await pool.start()
    try:
        log("Node.js latency, empty event")
        empty, empty_cpu = await latency(pool, args.calls, None, "bench-node-empty")
        log("Node.js latency, 2 KB event")
        event, event_cpu = await latency(pool, args.calls, EVENT, "bench-node-event")
        log("Node.js process start")
        spawn, spawn_cpu = await cold(pool, 10)
    finally:
        await pool.close()
    figures["node"] = {
        "latency_ms": {
            "empty": {"p50": percentile(empty, 50), "p99": percentile(empty, 99)},
            "event_2kb": {"p50": percentile(event, 50), "p99": percentile(event, 99)},
        },
        "cpu_per_step_us": {"empty": empty_cpu, "event_2kb": event_cpu},
        "process_start_ms_p50": percentile(spawn, 50),
        "process_start_cpu_ms": spawn_cpu,
    }
    return [
        ("Node.js trivial step, empty event", summary(empty)),
        ("  CPU per step", cpu_summary(empty_cpu)),
        (f"Node.js trivial step, {len(json.dumps(EVENT))} B event", summary(event)),
        ("  CPU per step", cpu_summary(event_cpu)),
        ("Node.js process start (spawn → ready)", summary(spawn)),
        ("  CPU per process start", f"{spawn_cpu:.0f} ms"),
    ]


def summary(times: list[float]) -> str:
    return (
        f"p50 {percentile(times, 50):.3f} ms  p99 {percentile(times, 99):.3f} ms"
        f"  max {max(times):.2f} ms  (n={len(times)})"
    )


def isolation_of(pool: CodePool) -> str:
    isolation = getattr(pool, "isolation", None)  # absent before code steps were sandboxed
    return isolation.status() if isolation is not None else "none (plain processes)"


def cpu_summary(cpu: dict) -> str:
    return f"pool {cpu['pool_us']:.0f} µs  code processes {cpu['code_processes_us']:.0f} µs"


async def main(args: argparse.Namespace) -> dict:
    figures: dict = {"pool_size": args.size, "loop": args.loop, "cpus": os.cpu_count()}
    guard = None
    if args.egress:  # the socket guard relayflow installs in every code-step process
        from relayflow import egress

        guard = (egress.__file__, egress.EgressPolicy.from_env("127.0.0.1:8787").to_json())
    figures["egress_guard"] = bool(guard)
    pool = CodePool(size=args.size, socket_guard=guard)
    started = time.perf_counter()
    await pool.start()
    figures["pool_start_ms"] = (time.perf_counter() - started) * 1000
    figures["max_workers"] = pool.max_workers
    figures["isolation"] = isolation_of(pool)
    rows = [("pool", f"size {args.size} (spares), max {pool.max_workers} processes, {args.loop}")]
    rows.append(("code-step isolation", figures["isolation"][:90]))
    try:
        log("latency, empty event")
        empty, empty_cpu = await latency(pool, args.calls, None, "bench-empty")
        rows.append(("trivial step, empty event", summary(empty)))
        rows.append(("  CPU per step", cpu_summary(empty_cpu)))
        log("latency, 2 KB event")
        event, event_cpu = await latency(pool, args.calls, EVENT, "bench-event")
        rows.append((f"trivial step, {len(json.dumps(EVENT))} B event", summary(event)))
        rows.append(("  CPU per step", cpu_summary(event_cpu)))
        figures["latency_ms"] = {
            "empty": {"p50": percentile(empty, 50), "p99": percentile(empty, 99)},
            "event_2kb": {"p50": percentile(event, 50), "p99": percentile(event, 99)},
        }
        figures["cpu_per_step_us"] = {"empty": empty_cpu, "event_2kb": event_cpu}
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
    spawn, spawn_cpu = await cold(fresh, 20)
    rows.append(("process start (spawn → ready)", summary(spawn)))
    rows.append(("  CPU per process start", f"{spawn_cpu:.0f} ms"))
    figures["process_start_ms_p50"] = percentile(spawn, 50)
    figures["process_start_cpu_ms"] = spawn_cpu
    rows += await node_figures(args, figures)
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
    parser.add_argument(
        "--egress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with the egress policy's socket guard in the code-step processes, as relayflow runs",
    )
    options = parser.parse_args()
    if options.loop == "uvloop":
        import uvloop

        result = uvloop.run(main(options))
    else:
        result = asyncio.run(main(options))
    if options.json:
        print(json.dumps(result, indent=2))
