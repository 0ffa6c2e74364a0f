"""Orchestration overhead per step: a 40-step workflow of no-op util.echo steps.

Each step returns the previous step's value (`{{ steps.s<k-1>.$return_value }}`), so every
step evaluates an expression, validates its inputs, runs, and is checkpointed.

(a) latency: runs sent one at a time through the webhook; per run, from its row,
    (finished_at - started_at) / steps; split into time inside steps (step_results
    started_at → finished_at: expression, validation, action) and between them
    (checkpoint commit, scheduling).
(b) throughput: M runs queued before any worker runs (ingested by `relayflow server`,
    which executes nothing), then `relayflow up` drains them; wall time (first started_at
    → last finished_at) / (M × steps), and commits per run from relayflow_db_commits_total.
    Repeated for each workflow concurrency given (settings.concurrency; the product default is 100).

Targets: <= 2 ms orchestration overhead per step; commits per run <= 1 + steps/10.

    .venv/bin/python bench/steps.py [--steps 40] [--latency-runs 30] [--runs 500]
                                    [--concurrency 10,100,256]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import statistics
import time
from pathlib import Path

import httpx

from common import (
    BODY,
    Profiler,
    PyLoad,
    Relayflow,
    cpu_rows,
    db_query,
    log,
    print_table,
    run_main,
    temp_home,
    thread_cpu,
    thread_names,
    wait_drained,
)

TARGET_MS_PER_STEP = 2.0


def steps_workflow(steps: int, concurrency: int) -> str:
    lines = [
        "name: bench-steps",
        "trigger:",
        "  http:",
        "    path: steps",
        "settings:",
        f"  concurrency: {concurrency}",
        "steps:",
    ]
    for k in range(1, steps + 1):
        source = "steps.trigger.event.body" if k == 1 else f"steps.s{k - 1}.$return_value"
        lines += [
            f"  - name: s{k}",
            "    uses: util.echo",
            "    with:",
            f'      value: "{{{{ {source} }}}}"',
        ]
    return "\n".join(lines) + "\n"


def latency(args: argparse.Namespace) -> dict:
    """(a) one run at a time; overhead per step from the run and step rows."""
    with temp_home("steps-latency", args.keep_home) as home, Relayflow(home) as rf:
        rf.deploy(steps_workflow(args.steps, 10))
        rf.start()
        rf.wait_route("steps")
        conn = sqlite3.connect(f"file:{rf.db_path}?mode=ro", uri=True)
        run_ids = []
        try:
            with httpx.Client(timeout=30) as client:
                for i in range(args.warmup + args.latency_runs):
                    reply = client.post(
                        f"{rf.url}/hooks/steps",
                        content=BODY,
                        headers={"content-type": "application/json"},
                    )
                    reply.raise_for_status()
                    run_id = reply.json()["run_id"]
                    deadline = time.monotonic() + 60
                    while True:
                        row = conn.execute(
                            "SELECT status FROM runs WHERE id = ?", (run_id,)
                        ).fetchone()
                        if row and row[0] not in ("queued", "running"):
                            break
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"run {run_id} did not finish in 60s")
                        time.sleep(0.002)
                    if row[0] != "succeeded":
                        raise RuntimeError(f"run {run_id} ended {row[0]}")
                    if i >= args.warmup:
                        run_ids.append(run_id)
        finally:
            conn.close()
        per_run = []
        for run_id in run_ids:
            created, started, finished = db_query(
                rf.db_path,
                "SELECT created_at, started_at, finished_at FROM runs WHERE id = ?",
                (run_id,),
            )[0]
            inside = db_query(
                rf.db_path,
                "SELECT SUM(finished_at - started_at) FROM step_results WHERE run_id = ?",
                (run_id,),
            )[0][0]
            per_run.append(
                {
                    "run_ms": (finished - started) * 1000,
                    "queue_ms": (started - created) * 1000,
                    "inside_steps_ms": inside * 1000,
                }
            )
    n = args.steps
    run_ms = [r["run_ms"] for r in per_run]
    inside_ms = [r["inside_steps_ms"] for r in per_run]
    return {
        "runs": len(per_run),
        "run_ms_median": statistics.median(run_ms),
        "per_step_ms_median": statistics.median(run_ms) / n,
        "per_step_ms_p90": sorted(run_ms)[int(len(run_ms) * 0.9)] / n,
        "per_step_ms_min": min(run_ms) / n,
        "inside_step_ms_median": statistics.median(inside_ms) / n,
        "between_steps_ms_median": statistics.median(
            [(r["run_ms"] - r["inside_steps_ms"]) for r in per_run]
        )
        / n,
        "claim_wait_ms_median": statistics.median([r["queue_ms"] for r in per_run]),
    }


def throughput(args: argparse.Namespace, concurrency: int) -> dict:
    """(b) M runs queued at once, drained by one `relayflow up`."""
    with temp_home("steps-throughput", args.keep_home) as home:
        with Relayflow(home, command="server") as server:
            server.deploy(steps_workflow(args.steps, concurrency))
            server.start()
            server.wait_route("steps")
            log(f"queueing {args.runs} runs through `relayflow server` (no worker)")
            loader = PyLoad(f"{server.url}/hooks/steps", BODY, connections=64, total=args.runs)
            sent = loader.run()
            ingest_commits = server.metrics()["relayflow_db_commits_total"]
        queued = db_query(server.db_path, "SELECT COUNT(*) FROM runs WHERE status = 'queued'")
        queued = queued[0][0]
        diagnose = args.diagnose or args.gc_freeze
        env = {"RELAYFLOW_DIAG_GC_FREEZE": "1"} if args.gc_freeze else {}
        with Relayflow(home, env=env, diagnose=diagnose) as rf:
            log(f"draining {queued} queued runs with `relayflow up` (concurrency {concurrency})")
            rf.start()
            names = thread_names(rf.pid)
            cpu_before = thread_cpu(rf.pid)
            t0 = time.monotonic()
            profile_file = (
                Path(f"{args.profile}.c{concurrency}").resolve() if args.profile else None
            )
            with (
                Profiler(rf.pid, profile_file) if profile_file else contextlib.nullcontext() as prof
            ):
                wait_drained(rf.db_path, args.drain_timeout, poll=0.05)
            seconds = time.monotonic() - t0
            cpu_after = thread_cpu(rf.pid)
            exec_commits = rf.metrics()["relayflow_db_commits_total"]
            statuses = dict(
                db_query(rf.db_path, "SELECT status, COUNT(*) FROM runs GROUP BY status")
            )
            first, last = db_query(
                rf.db_path, "SELECT MIN(started_at), MAX(finished_at) FROM runs"
            )[0]
            steps_done = db_query(rf.db_path, "SELECT COUNT(*) FROM step_results")[0][0]
            rf.stop()
            diagnostics = rf.diag_report() if diagnose else []
    wall = last - first
    cpu = cpu_rows(cpu_before, cpu_after, names, seconds, steps_done, "step")
    return {
        "concurrency": concurrency,
        "runs": queued,
        "acknowledged": sent.ok,
        "statuses": statuses,
        "steps_recorded": steps_done,
        "wall_s": wall,
        "runs_per_s": queued / wall,
        "steps_per_s": steps_done / wall,
        "per_step_ms": wall * 1000 / steps_done,
        "exec_commits": int(exec_commits),
        "ingest_commits": int(ingest_commits),
        "exec_commits_per_run": exec_commits / queued,
        "commits_per_run": (exec_commits + ingest_commits) / queued,
        "cpu_rows": cpu,
        "diagnostics": diagnostics,
        "profile": prof.summary() if prof is not None else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="steps in the workflow (40)")
    parser.add_argument("--latency-runs", type=int, default=30, help="sequential runs (30)")
    parser.add_argument("--warmup", type=int, default=3, help="sequential runs not counted (3)")
    parser.add_argument("--runs", type=int, default=500, help="runs queued at once (500)")
    parser.add_argument(
        "--concurrency",
        default="10,100,256",
        help="workflow settings.concurrency values for (b), comma-separated (10,100,256)",
    )
    parser.add_argument("--drain-timeout", type=float, default=600)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="(b): run `up` through bench/diagnose.py: GC pauses, loop lag, writer timings",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="(b) experiment (implies --diagnose): gc.freeze() in the server after start-up",
    )
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="(b): py-spy the draining server; raw stacks to PREFIX.c<concurrency>",
    )
    parser.add_argument("--keep-home", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    n = args.steps
    commit_target = 1 + n / 10
    results: dict = {"steps": n}
    if not args.skip_latency:
        log(f"(a) {args.latency_runs} sequential runs of a {n}-step workflow")
        lat = latency(args)
        results["latency"] = lat
        ok = lat["per_step_ms_median"] <= TARGET_MS_PER_STEP
        print(f"\n(a) single-run latency, {n} util.echo steps, {lat['runs']} runs one at a time")
        print_table(
            [
                (
                    "per step (run time / steps)",
                    f"median {lat['per_step_ms_median']:.3f} ms, p90 "
                    f"{lat['per_step_ms_p90']:.3f} ms, min {lat['per_step_ms_min']:.3f} ms"
                    f"  [target <= {TARGET_MS_PER_STEP} ms: {'PASS' if ok else 'MISS'}]",
                ),
                ("  inside a step", f"{lat['inside_step_ms_median']:.3f} ms (eval+validate+run)"),
                (
                    "  between steps",
                    f"{lat['between_steps_ms_median']:.3f} ms (checkpoint commit, scheduling)",
                ),
                ("run time", f"median {lat['run_ms_median']:.1f} ms"),
                ("queued → started", f"median {lat['claim_wait_ms_median']:.1f} ms"),
            ]
        )
    results["throughput"] = []
    for concurrency in [int(c) for c in args.concurrency.split(",") if c.strip()]:
        log(f"(b) {args.runs} runs queued at once, concurrency {concurrency}")
        tp = throughput(args, concurrency)
        results["throughput"].append(tp)
        ok_step = tp["per_step_ms"] <= TARGET_MS_PER_STEP
        ok_commits = tp["commits_per_run"] <= commit_target
        print(f"\n(b) throughput, {tp['runs']} runs queued at once, concurrency {concurrency}")
        print_table(
            [
                ("runs", f"{tp['runs']} {tp['statuses']}, {tp['steps_recorded']} step results"),
                (
                    "wall time",
                    f"{tp['wall_s']:.2f} s = {tp['runs_per_s']:.0f} runs/s, "
                    f"{tp['steps_per_s']:,.0f} steps/s",
                ),
                (
                    "per step (wall / steps)",
                    f"{tp['per_step_ms']:.3f} ms"
                    f"  [target <= {TARGET_MS_PER_STEP} ms: {'PASS' if ok_step else 'MISS'}]",
                ),
                (
                    "commits per run",
                    f"{tp['commits_per_run']:.2f} (ingest {tp['ingest_commits']} + execution "
                    f"{tp['exec_commits']} commits; execution alone "
                    f"{tp['exec_commits_per_run']:.2f}/run)"
                    f"  [target <= {commit_target:g}: {'PASS' if ok_commits else 'MISS'}]",
                ),
                *tp["cpu_rows"],
            ]
        )
        for line in tp["diagnostics"]:
            print("  " + line)
        if tp["profile"]:
            print(tp["profile"])
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
