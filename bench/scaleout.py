"""Scale-out on PostgreSQL: one `relayflow server` and N `relayflow worker` processes.

Creates a fresh database on the PostgreSQL at --pg (default the local test server), deploys
a one-step workflow with concurrency 200, drives POST /hooks/bench with wrk at 64
connections, then waits until every run has finished and reports acknowledged events/s,
latency, and runs/s processed by the workers (first created -> last finished).

    .venv/bin/python bench/scaleout.py [--workers 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid

import psycopg

from common import (
    BODY,
    HOST,
    RELAYFLOW,
    free_port,
    handle_sigterm,
    log,
    print_table,
    run_wrk,
    stop_process,
    temp_home,
)

WORKFLOW = """\
name: bench
trigger: {http: {path: bench}}
steps:
  - {name: shape, uses: util.echo, with: {value: "{{ steps.trigger.event.body.email }}"}}
settings: {concurrency: 200}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    handle_sigterm()
    name = f"relayflow_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{args.pg.rsplit('/', 1)[0]}/{name}"
    procs: list[subprocess.Popen] = []
    try:
        with temp_home("scaleout") as home:
            env = {**os.environ, "RELAYFLOW_HOME": str(home), "RELAYFLOW_DATABASE_URL": url}
            (home / "bench.yaml").write_text(WORKFLOW)
            subprocess.run(
                [*RELAYFLOW, "deploy", str(home / "bench.yaml")],
                env=env,
                check=True,
                capture_output=True,
            )
            port = free_port()

            def spawn(*command: str) -> None:
                out = (home / f"{command[0]}-{len(procs)}.log").open("wb")
                procs.append(
                    subprocess.Popen(
                        [*RELAYFLOW, *command],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )

            spawn("server", "--host", HOST, "--port", str(port))
            for _ in range(args.workers):
                spawn("worker")
            time.sleep(4)
            log(
                f"wrk: {args.connections} connections for {args.seconds:g}s, {args.workers} workers"
            )
            result = run_wrk(
                f"http://{HOST}:{port}/hooks/bench",
                BODY,
                connections=args.connections,
                seconds=args.seconds,
                workdir=home,
            )
            with psycopg.connect(url, autocommit=True) as conn:
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    left = conn.execute(
                        "SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')"
                    ).fetchone()[0]
                    if not left:
                        break
                    time.sleep(0.5)
                rows = dict(
                    conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall()
                )
                first, last = conn.execute(
                    "SELECT MIN(created_at), MAX(finished_at) FROM runs"
                ).fetchone()
    finally:
        for proc in procs:
            stop_process(proc)
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    total = sum(rows.values())
    print("\nscale-out results (PostgreSQL)")
    print_table(
        [
            ("processes", f"1 server + {args.workers} workers"),
            ("acknowledged", f"{result.ok} = {result.ok_per_s:,.0f} events/s"),
            ("latency", f"p50 {result.p50_ms:.1f} ms  p99 {result.p99_ms:.1f} ms"),
            ("runs", str(rows)),
            ("processed", f"{total / (last - first):,.0f} runs/s (first created -> last finished)"),
        ]
    )
    return 0 if rows.get("succeeded") == total else 1


if __name__ == "__main__":
    sys.exit(main())
