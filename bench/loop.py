"""Orchestration per loop iteration: a `for_each` over N items of one no-op util.echo step.

Per run, from the loop's step row and its iteration rows: the loop's time (started_at →
finished_at) divided by N is the time per iteration; the body steps' own time (each
iteration's step started_at → finished_at: expression, validation, action) is taken off
it, and what is left is orchestration: scheduling the iteration, its scope, and the
checkpoint of its row (a committed write per step, grouped with other iterations' when
`concurrency` > 1). Repeated for each loop concurrency given.

Target: <= 0.5 ms orchestration per iteration.

    .venv/bin/python bench/loop.py [--items 1000] [--runs 3] [--concurrency 1,10]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import time

import httpx

from common import Relayflow, db_query, log, print_table, run_main, temp_home

TARGET_MS = 0.5


def loop_workflow(concurrency: int) -> str:
    return f"""\
name: bench-loop
trigger: {{http: {{path: loop}}}}
steps:
  - name: each
    for_each: "{{{{ steps.trigger.event.body.items }}}}"
    concurrency: {concurrency}
    steps:
      - name: noop
        uses: util.echo
        with: {{value: "{{{{ item }}}}"}}
"""


def wait_finished(conn: sqlite3.Connection, run_id: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row and row[0] not in ("queued", "running"):
            return row[0]
        time.sleep(0.01)
    raise TimeoutError(f"run {run_id} did not finish in {timeout:g}s")


def measure(args: argparse.Namespace, concurrency: int) -> dict:
    with temp_home("loop", args.keep_home) as home, Relayflow(home) as rf:
        rf.deploy(loop_workflow(concurrency))
        rf.start()
        rf.wait_route("loop")
        conn = sqlite3.connect(f"file:{rf.db_path}?mode=ro", uri=True)
        body = json.dumps({"items": list(range(args.items))})
        per_iteration, orchestration = [], []
        try:
            for i in range(args.warmup + args.runs):
                reply = httpx.post(
                    f"{rf.url}/hooks/loop",
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=30,
                )
                reply.raise_for_status()
                run_id = reply.json()["run_id"]
                status = wait_finished(conn, run_id)
                if status != "succeeded":
                    raise RuntimeError(f"run {run_id} ended {status}: {rf.log_tail()}")
                if i < args.warmup:
                    continue
                ((started, finished),) = db_query(
                    rf.db_path,
                    "SELECT started_at, finished_at FROM step_results"
                    " WHERE run_id = ? AND step_name = 'each'",
                    (run_id,),
                )
                inside = 0.0
                for (steps,) in db_query(
                    rf.db_path, "SELECT steps FROM iterations WHERE run_id = ?", (run_id,)
                ):
                    inside += sum(s["finished_at"] - s["started_at"] for s in json.loads(steps))
                total_ms = (finished - started) * 1000
                per_iteration.append(total_ms / args.items)
                # With concurrency > 1 the body steps overlap: their time is taken off as
                # wall time shared by `concurrency` iterations at once.
                inside_ms = inside * 1000 / concurrency
                orchestration.append(max(0.0, total_ms - inside_ms) / args.items)
        finally:
            conn.close()
    return {
        "concurrency": concurrency,
        "items": args.items,
        "runs": args.runs,
        "ms_per_iteration_median": statistics.median(per_iteration),
        "orchestration_ms_per_iteration_median": statistics.median(orchestration),
        "orchestration_ms_per_iteration_min": min(orchestration),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--concurrency", default="1,10")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep-home", action="store_true")
    args = parser.parse_args()
    results = []
    for concurrency in [int(c) for c in args.concurrency.split(",")]:
        log(f"loop of {args.items} items at concurrency {concurrency}, {args.runs} runs")
        results.append(measure(args, concurrency))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    rows = [("target", f"<= {TARGET_MS} ms orchestration per iteration")]
    for r in results:
        rows.append(
            (
                f"concurrency {r['concurrency']}",
                f"{r['ms_per_iteration_median']:.3f} ms per iteration, of which orchestration"
                f" {r['orchestration_ms_per_iteration_median']:.3f} ms (min"
                f" {r['orchestration_ms_per_iteration_min']:.3f})",
            )
        )
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
