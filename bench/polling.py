"""Polling sources with a big backlog: a 1,000,000-row CSV and a 1,000,000-row SQL table,
`backfill: all`, emitted by `relayflow sources poll` (the poller and the writer, no
worker): rows emitted per second, CPU seconds per 1,000 rows, and peak RSS.

    .venv/bin/python bench/polling.py                  # both, 1,000,000 rows each
    .venv/bin/python bench/polling.py --rows 100000 --only csv

Goal (issue 12): >= 20,000 rows/s, RSS <= 250 MB. Self-contained: a temp home on SQLite,
no network; the temp folder is removed at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RELAYFLOW = [sys.executable, "-m", "relayflow.cli"]

WORKFLOW = """\
name: {name}
trigger:
  source:
    uses: {uses}
{account}    every: 1h
    backfill: all
    with: {inputs}
steps:
  - name: note
    uses: util.echo
    with: {{value: "{{{{ steps.trigger.event.row.email }}}}"}}
"""


def make_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["user_id", "email", "name", "plan"])
        for n in range(rows):
            writer.writerow([f"u-{n}", f"user{n}@example.com", f"User {n}", "pro"])


def make_table(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE signups (id INTEGER PRIMARY KEY, email TEXT, name TEXT, plan TEXT)"
        )
        conn.executemany(
            "INSERT INTO signups (email, name, plan) VALUES (?, ?, 'pro')",
            ((f"user{n}@example.com", f"User {n}") for n in range(rows)),
        )


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*RELAYFLOW, *args], env=env, check=True, capture_output=True, text=True)
    return done.stdout


def measure(env: dict[str, str], name: str, rows: int) -> dict:
    """`relayflow sources poll NAME` until it is done: wall time, CPU, peak RSS."""
    proc = subprocess.Popen(
        [*RELAYFLOW, "sources", "poll", name, "--json"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    peak, stop = [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                text = Path(f"/proc/{proc.pid}/status").read_text()
                line = next(x for x in text.splitlines() if x.startswith("VmRSS"))
                kb = int(line.split()[1])
                peak[0] = max(peak[0], kb)
            except (OSError, StopIteration):
                pass
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()
    start = time.monotonic()
    out = proc.stdout.read()
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    took = time.monotonic() - start
    stop.set()
    if status != 0:
        raise SystemExit(f"relayflow sources poll {name} failed:\n{out}\n{err}")
    emitted = json.loads(out)["emitted"]
    assert emitted == rows, f"{name}: emitted {emitted} of {rows}"
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "source": name,
        "rows": rows,
        "seconds": round(took, 1),
        "rows_per_s": round(rows / took),
        "cpu_s_per_1000_rows": round(cpu / rows * 1000, 3),
        "peak_rss_mb": round(max(peak[0], usage.ru_maxrss) / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["csv", "sql"])
    parser.add_argument("--keep-home", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="relayflow-bench-polling-"))
    try:
        home, data = root / "home", root / "data"
        home.mkdir()
        data.mkdir()
        env = {
            **os.environ,
            "RELAYFLOW_HOME": str(home),
            "RELAYFLOW_DATABASE_URL": f"sqlite:///{home / 'relayflow.db'}",
        }
        results = []
        if args.only in (None, "csv"):
            make_csv(data / "signups.csv", args.rows)
            (home / "csv.yaml").write_text(WORKFLOW.format(
                name="bench-csv", uses="files.new_rows", account="",
                inputs=f'{{path: "{data / "signups.csv"}"}}'))  # fmt: skip
            cli(env, "deploy", str(home / "csv.yaml"))
            results.append(measure(env, "bench-csv", args.rows))
        if args.only in (None, "sql"):
            make_table(data / "app.db", args.rows)
            cli(env, "accounts", "add", "sql", "bench-db", "--url", f"sqlite:///{data / 'app.db'}")
            (home / "sql.yaml").write_text(WORKFLOW.format(
                name="bench-sql", uses="sql.new_rows", account="    account: bench-db\n",
                inputs="{table: signups, column: id}"))  # fmt: skip
            cli(env, "deploy", str(home / "sql.yaml"))
            results.append(measure(env, "bench-sql", args.rows))
        print("source         rows  seconds   rows/s  CPU s/1k rows  peak RSS MB")
        for r in results:
            print(
                f"{r['source']:<10} {r['rows']:>9,} {r['seconds']:>8} {r['rows_per_s']:>8,}"
                f" {r['cpu_s_per_1000_rows']:>14} {r['peak_rss_mb']:>12}"
            )
        print(f"load average: {os.getloadavg()[0]:.2f} (2 cores)")
    finally:
        if not args.keep_home:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
