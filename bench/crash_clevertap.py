"""Acknowledged events on PostgreSQL reach CleverTap exactly once, through kill -9 and faults.

Starts the CleverTap sandbox (its own process and SQLite file) and `relayflow up` on a fresh
PostgreSQL database, deploys a workflow whose one step uploads a CleverTap event with the
run's id as the identity, and posts `--events` webhooks (a Python sender that records
every 200: its run id). Once `--fault-after` of them are acknowledged the sandbox fails
every API call (fault injection, 503) for `--fault-seconds`; halfway through that window
`relayflow up` is killed with SIGKILL (its whole process group) and started again. After
the faults end and every run has finished, it counts in the sandbox's own database the
events per identity, and checks that:

  - every acknowledged event's record reached the sandbox (distinct identities);
  - none reached it twice (duplicates), and nothing arrived that was never sent;
  - every acknowledged run succeeded.

It reports the server's RSS (peak and at the end, sampled every 0.5 s) over the run.

    .venv/bin/python bench/crash_clevertap.py [--events 20000] [--fault-seconds 60]
        [--pg postgresql://postgres@127.0.0.1:5432/test]   # the issue's run: --events 100000
"""

from __future__ import annotations

import argparse
import collections
import json
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from common import (
    BODY,
    RELAYFLOW,
    LoadResult,
    PyLoad,
    Relayflow,
    RssSampler,
    log,
    print_table,
    run_main,
    start_sandbox,
    stop_process,
    temp_home,
)

ACCOUNT, PASSCODE = "TEST-RELAYFLOW", "sandbox-passcode"
EVENT = "Crash Test"

WORKFLOW = f"""\
name: bench-crash-clevertap
trigger:
  http:
    path: crash-ct
steps:
  - name: record
    uses: clevertap.upload_event
    account: ct
    with:
      identity: "{{{{ steps.trigger.context.run_id }}}}"
      event_name: {EVENT}
      event_data: {{ n: "{{{{ steps.trigger.event.body.n }}}}" }}
settings:
  concurrency: 200
  retries: {{ max: 30, backoff: exponential, initial: 1s, max_delay: 10s }}
"""


def pending(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running', 'sleeping')"
        ).fetchone()[0]


def run_statuses(url: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return dict(conn.execute("SELECT id, status FROM runs").fetchall())


def sandbox_events(db: Path) -> collections.Counter[str]:
    """How many `EVENT`s the sandbox stored per identity."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT p.identity, COUNT(*) FROM events e JOIN profiles p ON p.pk = e.profile_pk"
            " WHERE e.name = ? GROUP BY p.identity",
            (EVENT,),
        ).fetchall()
    return collections.Counter(dict(rows))


def set_faults(sandbox_url: str, error_rate: float) -> None:
    answer = httpx.post(
        f"{sandbox_url}/_sandbox/faults", json={"error_rate": error_rate, "status": 503}
    )
    answer.raise_for_status()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="webhooks to send (20000)")
    parser.add_argument("--connections", type=int, default=32, help="sender connections (32)")
    parser.add_argument(
        "--fault-after", type=float, default=0.3, help="fraction acked before faults (0.3)"
    )
    parser.add_argument(
        "--fault-seconds", type=float, default=60, help="sandbox fails every call this long"
    )
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--drain-timeout", type=float, default=600)
    parser.add_argument("--keep-home", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    name = f"relayflow_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{args.pg.rsplit('/', 1)[0]}/{name}"
    acked: set[str] = set()
    timeline: dict[str, float] = {}
    try:
        with temp_home("crash-ct", args.keep_home) as home:
            sandbox, sandbox_url = start_sandbox(home, ACCOUNT, PASSCODE)
            try:
                rf = Relayflow(home, env={"RELAYFLOW_LEASE_SECONDS": "5"})
                rf.env["RELAYFLOW_DATABASE_URL"] = url
                subprocess.run(
                    [*RELAYFLOW, "accounts", "add", "clevertap", "ct", "--home", str(home)]
                    + ["--account-id", ACCOUNT, "--passcode", PASSCODE]
                    + ["--endpoint", sandbox_url],
                    check=True,
                    capture_output=True,
                    env=rf.env,
                )
                rf.deploy(WORKFLOW)
                with rf:
                    rf.start()
                    rf.wait_route("crash-ct")
                    sender = PyLoad(
                        f"{rf.url}/hooks/crash-ct",
                        BODY,
                        connections=args.connections,
                        total=args.events,
                        on_ack=lambda reply: acked.add(reply["run_id"]),
                        tolerate_errors=True,
                    )
                    results: dict[str, object] = {}
                    thread = threading.Thread(
                        target=lambda: results.update(load=sender.run()), daemon=True
                    )
                    with RssSampler(lambda: rf.pid) as rss:
                        t0 = time.monotonic()
                        thread.start()
                        while len(acked) < args.events * args.fault_after and thread.is_alive():
                            time.sleep(0.05)
                        set_faults(sandbox_url, 1.0)
                        timeline["faults_on"] = time.monotonic() - t0
                        log(f"faults on at {timeline['faults_on']:.1f}s ({len(acked):,} acked)")
                        time.sleep(args.fault_seconds / 2)
                        acked_at_kill = len(acked)
                        rf.kill9()
                        timeline["kill9"] = time.monotonic() - t0
                        log(f"kill -9 at {timeline['kill9']:.1f}s ({acked_at_kill:,} acked)")
                        rf.start()
                        timeline["restarted"] = time.monotonic() - t0
                        restart_took = timeline["restarted"] - timeline["kill9"]
                        time.sleep(max(0.0, args.fault_seconds / 2 - restart_took))
                        set_faults(sandbox_url, 0.0)
                        timeline["faults_off"] = time.monotonic() - t0
                        log(f"faults off at {timeline['faults_off']:.1f}s ({len(acked):,} acked)")
                        thread.join()
                        timeline["sent"] = time.monotonic() - t0
                        log(f"sender done at {timeline['sent']:.1f}s; waiting for every run")
                        deadline = time.monotonic() + args.drain_timeout
                        while (left := pending(url)) and time.monotonic() < deadline:
                            time.sleep(0.5)
                        timeline["drained"] = time.monotonic() - t0
                    runs = run_statuses(url)
                    errors = rf.log_errors()
                stats = httpx.get(f"{sandbox_url}/_sandbox/stats").json()
                counts = sandbox_events(home / "sandbox.db")
            finally:
                stop_process(sandbox)
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    missing = [r for r in acked if counts.get(r, 0) == 0]
    twice = {r: n for r, n in counts.items() if n > 1}
    unknown = [r for r in counts if r not in runs]
    not_succeeded = collections.Counter(
        runs.get(r, "missing") for r in acked if runs.get(r) != "succeeded"
    )
    ok = not missing and not twice and not unknown and not not_succeeded and not left
    load = results.get("load")
    summary = {
        "events_requested": args.events,
        "acknowledged": len(acked),
        "failed_requests": sender.errors,
        "timeline_s": {k: round(v, 1) for k, v in timeline.items()},
        "runs": dict(collections.Counter(runs.values())),
        "pending_at_end": left,
        "distinct_identities_in_sandbox": len(counts),
        "acked_missing_in_sandbox": len(missing),
        "identities_more_than_once": len(twice),
        "extra_records": sum(n - 1 for n in twice.values()),
        "identities_never_sent": len(unknown),
        "acked_not_succeeded": dict(not_succeeded),
        "sandbox_uploads": stats.get("uploads"),
        "rss_mb_peak": round(rss.peak_mb, 1),
        "rss_mb_end": round(rss.last_mb, 1),
        "server_log_errors": len(errors),
        "ok": ok,
    }
    print("\ncrash under CleverTap faults (PostgreSQL)")
    print_table(
        [
            (
                "acknowledged",
                f"{len(acked):,} of {args.events:,} ({sender.errors} failed requests)",
            ),
            ("timeline", ", ".join(f"{k} {v:.1f}s" for k, v in timeline.items())),
            ("runs", str(summary["runs"]) + f" (pending at end: {left})"),
            (
                "in the sandbox",
                f"{len(counts):,} distinct identities; {len(missing)} acked missing,"
                f" {len(twice)} more than once ({summary['extra_records']} extra),"
                f" {len(unknown)} never sent",
            ),
            ("acked runs not succeeded", str(dict(not_succeeded) or 0)),
            ("server RSS", f"peak {rss.peak_mb:.0f} MB, at the end {rss.last_mb:.0f} MB"),
            ("server log errors", str(len(errors))),
            (
                "sender",
                f"{load.ok_per_s:,.0f} acked/s, p50 {load.p50_ms:.0f} ms, p99 {load.p99_ms:.0f} ms"
                if isinstance(load, LoadResult)
                else "did not finish",
            ),
            ("verdict", "OK" if ok else "FAILED"),
        ]
    )
    for line in errors[:10]:
        print("   ", line)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(run_main(main))
