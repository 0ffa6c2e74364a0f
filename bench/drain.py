"""A worker alone draining a backlog of http.request runs: runs/s and CPU per run.

`relayflow server` (which executes nothing) acknowledges N sign-ups for bench/e2e.py's
workflow (a) (webhook -> one http.request POST to bench/sink.py); then one `relayflow
worker` starts on the same home and drains them at the default concurrency, with nothing
else competing for the cores but the sink. It reports runs/s (first started -> last
finished) and the worker's CPU per run, measured from /proc after the drain, minus what the
worker used before its first run started (imports, start-up). `--profile FILE` runs the
worker under cProfile (slower; the figures then are not comparable).

    .venv/bin/python bench/drain.py [--events 20000] [--profile FILE]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from common import Relayflow, db_scalar, log, run_main, temp_home
from e2e import HTTP_WORKFLOW, SinkServer, cpu_seconds, send

PENDING = "SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="runs to queue (20000)")
    parser.add_argument("--profile", help="write the worker's cProfile stats here")
    args = parser.parse_args()
    with temp_home("drain") as home:
        sink = SinkServer(home)
        try:
            with Relayflow(home, command="server") as rf:
                rf.deploy(HTTP_WORKFLOW.format(sink=sink.url))
                rf.start()
                rf.wait_route("signup")
                stored = lambda: db_scalar(rf.db_path, "SELECT COUNT(*) FROM events")  # noqa: E731
                log(f"queueing {args.events} runs through `relayflow server`")
                send(f"{rf.url}/hooks/signup", args.events, 64, 0, stored, home, 120)
                rf.stop()
            db = home / "relayflow.db"
            queued = db_scalar(db, PENDING)
            env = {k: v for k, v in os.environ.items() if k != "RELAYFLOW_DATABASE_URL"}
            profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
            log(f"draining {queued} queued runs with one `relayflow worker`")
            worker = subprocess.Popen(
                [sys.executable, *profile, "-m", "relayflow.cli", "worker", "--home", str(home)],
                env=env,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
            started_cpu = 0.0
            while db_scalar(db, "SELECT COUNT(*) FROM runs WHERE started_at IS NOT NULL") == 0:
                started_cpu = cpu_seconds(worker.pid)
                time.sleep(0.01)
            while db_scalar(db, PENDING) > 0:
                time.sleep(0.05)
            used = cpu_seconds(worker.pid) - started_cpu
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
            wall = db_scalar(db, "SELECT MAX(finished_at) - MIN(started_at) FROM runs")
            done = db_scalar(db, "SELECT COUNT(*) FROM runs WHERE status = 'succeeded'")
            delivered = sink.stats()["received"]
        finally:
            sink.proc.kill()
            sink.proc.wait()
    print("\ndrain of http.request runs by one worker")
    print(f"  runs            {done:,} succeeded of {queued:,} queued; the sink got {delivered:,}")
    print(f"  runs/s          {done / wall:,.0f} (first started -> last finished, {wall:.2f} s)")
    print(f"  worker CPU      {used * 1e6 / max(done, 1):.0f} µs per run (after start-up)")
    load = os.getloadavg()
    print(f"  machine         {os.cpu_count()} cores, load average {load[0]:.2f} / {load[1]:.2f}")
    return 0 if done == queued else 1


if __name__ == "__main__":
    sys.exit(run_main(main))
