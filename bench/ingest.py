"""Durable webhook ingest on embedded SQLite (synchronous=FULL).

Starts `relayflow up` on a temp home, deploys a one-step workflow (http trigger, one
util.echo step), drives POST /hooks/bench with wrk, then checks that every 200 has its
event stored, waits for every run to finish and reports:

  acknowledged events/s, p50/p99 latency, stored vs acknowledged, runs/s drained,
  commits per run (relayflow_db_commits_total), peak RSS of the server.

Targets (DESIGN §5): >= 3,000 acknowledged events/s at 64 connections, p99 < 50 ms.

    .venv/bin/python bench/ingest.py [--seconds 20] [--connections 64]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

from common import (
    BODY,
    PENDING_RUNS,
    Profiler,
    Relayflow,
    RssSampler,
    cpu_rows,
    db_query,
    db_scalar,
    echo_workflow,
    load,
    log,
    print_table,
    rss_kb,
    run_main,
    temp_home,
    thread_cpu,
    thread_names,
    wait_drained,
)

TARGET_EPS = 3000
TARGET_P99_MS = 50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="load duration (default 20)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument(
        "--concurrency", type=int, help="workflow settings.concurrency (the default, 100)"
    )
    parser.add_argument("--drain-timeout", type=float, default=300, help="max wait for runs")
    parser.add_argument("--keep-home", action="store_true", help="keep the temp home")
    parser.add_argument("--json", action="store_true", help="also print results as JSON")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="run the server through bench/diagnose.py: GC pauses, loop lag, writer timings",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="experiment (implies --diagnose): gc.freeze() in the server after start-up",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="sample the server with py-spy during the load; raw stacks to FILE, summary printed",
    )
    parser.add_argument(
        "--profile-gil", action="store_true", help="with --profile: only GIL-holding samples"
    )
    parser.add_argument(
        "--profile-blocking",
        action="store_true",
        help="with --profile: pause the server per sample (exact stacks, slower server)",
    )
    args = parser.parse_args()

    diagnose = args.diagnose or args.gc_freeze
    env = {"RELAYFLOW_DIAG_GC_FREEZE": "1"} if args.gc_freeze else {}
    with (
        temp_home("ingest", args.keep_home) as home,
        Relayflow(home, env=env, diagnose=diagnose) as rf,
    ):
        rf.deploy(echo_workflow("bench-ingest", "bench", args.concurrency))
        rf.start()
        rf.wait_route("bench")
        before = rf.metrics()
        idle_mb = (rss_kb(rf.pid) or 0) / 1024
        with RssSampler(lambda: rf.pid) as rss:
            log(f"wrk: {args.connections} connections for {args.seconds:g}s on {rf.url}")
            names = thread_names(rf.pid)
            cpu_before = thread_cpu(rf.pid)
            t0 = time.monotonic()
            load_from = time.time()
            with (
                Profiler(
                    rf.pid,
                    Path(args.profile).resolve(),
                    gil=args.profile_gil,
                    blocking=args.profile_blocking,
                )
                if args.profile
                else contextlib.nullcontext()
            ) as profiler:
                result = load(
                    f"{rf.url}/hooks/bench",
                    BODY,
                    connections=args.connections,
                    seconds=args.seconds,
                    threads=args.threads,
                    workdir=home,
                )
            cpu_after = thread_cpu(rf.pid)
            load_until = time.time()
            backlog = db_scalar(rf.db_path, PENDING_RUNS)
            log(f"load done; {backlog} runs still queued or running, waiting for them")
            try:
                drained_at = wait_drained(rf.db_path, args.drain_timeout)
            except TimeoutError as exc:
                log(f"gave up waiting: {exc}")
                drained_at = time.monotonic()
            total_s = drained_at - t0
        after = rf.metrics()
        stored = db_scalar(rf.db_path, "SELECT COUNT(*) FROM events")
        runs = db_scalar(rf.db_path, "SELECT COUNT(*) FROM runs")
        statuses = dict(db_query(rf.db_path, "SELECT status, COUNT(*) FROM runs GROUP BY status"))
        first, last = db_query(rf.db_path, "SELECT MIN(created_at), MAX(finished_at) FROM runs")[0]
        commits = after["relayflow_db_commits_total"] - before["relayflow_db_commits_total"]
        ingested = after["relayflow_events_ingested_total"] - before.get(
            "relayflow_events_ingested_total", 0
        )
        errors = rf.log_errors()
        rf.stop()
        diagnostics = rf.diag_report(load_from, load_until) if diagnose else []

    extra = stored - result.ok
    # wrk abandons the requests in flight when its time is up; the server may still have
    # committed them, so up to `connections` more events than counted 200s is expected.
    lost = extra < 0
    summary = {
        "tool": result.tool,
        "seconds": round(result.seconds, 2),
        "acknowledged": result.ok,
        "acknowledged_per_s": round(result.ok_per_s),
        "non_2xx": result.non_2xx,
        "socket_errors": result.errors,
        "p50_ms": round(result.p50_ms, 2),
        "p90_ms": round(result.p90_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "max_ms": round(result.max_ms, 2),
        "events_stored": stored,
        "events_ingested_metric": int(ingested),
        "stored_minus_acknowledged": extra,
        "runs": runs,
        "run_statuses": statuses,
        "backlog_at_load_end": backlog,
        "runs_per_s_drained": round(runs / (last - first)) if last and last > first else None,
        "load_to_drained_s": round(total_s, 2),
        "commits": int(commits),
        "commits_per_run": round(commits / runs, 3) if runs else None,
        "runs_per_commit": round(runs / commits, 1) if commits else None,
        "rss_idle_mb": round(idle_mb, 1),
        "rss_peak_mb": round(rss.peak_mb, 1),
        "server_log_errors": len(errors),
    }
    ok_eps = result.ok_per_s >= TARGET_EPS
    ok_p99 = result.p99_ms < TARGET_P99_MS
    consistent = not lost and extra <= args.connections and result.non_2xx == 0
    print("\ningest results")
    print_table(
        [
            ("load", f"{result.tool}, {result.seconds:.1f}s"),
            (
                "acknowledged",
                f"{result.ok} (200s) = {result.ok_per_s:,.0f} events/s"
                f"  [target >= {TARGET_EPS:,}: {'PASS' if ok_eps else 'MISS'}]",
            ),
            (
                "latency",
                f"p50 {result.p50_ms:.1f} ms  p90 {result.p90_ms:.1f} ms  "
                f"p99 {result.p99_ms:.1f} ms  max {result.max_ms:.1f} ms"
                f"  [p99 target < {TARGET_P99_MS} ms: {'PASS' if ok_p99 else 'MISS'}]",
            ),
            ("non-2xx / socket errors", f"{result.non_2xx} / {result.errors}"),
            (
                "events stored",
                f"{stored} ({extra:+d} vs 200s; in flight at wrk's stop may add up to "
                f"{args.connections})  [{'OK' if consistent else 'MISMATCH'}]",
            ),
            ("runs", f"{runs} {statuses}; {backlog} still pending when the load stopped"),
            ("runs/s drained", f"{summary['runs_per_s_drained']} (first created → last finished)"),
            (
                "commits per run",
                f"{summary['commits_per_run']} ({int(commits)} commits; "
                f"{summary['runs_per_commit']} runs per commit)",
            ),
            *cpu_rows(cpu_before, cpu_after, names, result.seconds, result.ok, "event"),
            ("server RSS", f"idle {idle_mb:.0f} MB, peak {rss.peak_mb:.0f} MB"),
            ("server log errors", str(len(errors))),
        ]
    )
    for line in errors[:10]:
        print("   ", line)
    if diagnostics:
        print(
            "\nserver diagnostics during the load"
            + (" (gc.freeze() after start)" if args.gc_freeze else "")
        )
        for line in diagnostics:
            print("  " + line)
    if profiler is not None:
        print("\n" + profiler.summary())
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0 if consistent and statuses.keys() <= {"succeeded"} else 1


if __name__ == "__main__":
    raise SystemExit(run_main(main))
