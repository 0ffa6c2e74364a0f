"""Bulk import: N generated profile rows from a CSV into the CleverTap sandbox.

Starts the sandbox (`relayflow sandbox clevertap`, its own process), connects an account
to it on a temp home, writes N rows (user_id, name, email, phone, plan, age) to a temp CSV,
and runs `relayflow import clevertap profiles` on it, sampling the import process's RSS.
Reports:

  records/s (rows / wall time of the import command), peak RSS of the import process
  (VmHWM), CPU seconds of the import and of the sandbox per 1,000 records, upload
  requests and records per request (the sandbox's counters), profiles stored.

Targets (issue 13): >= 20,000 records/s and peak RSS <= 200 MB for 1,000,000 rows.

    .venv/bin/python bench/clevertap_import.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import subprocess
import time
from pathlib import Path

import httpx

from common import (
    RELAYFLOW,
    free_port,
    handle_sigterm,
    log,
    print_table,
    stop_process,
    temp_home,
    wait_http,
)

ACCOUNT, PASSCODE = "BENCH-ACCOUNT", "bench-passcode"
PLANS = ("free", "pro", "team")


def write_rows(path: Path, rows: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "name", "email", "phone", "plan", "age"])
        for i in range(rows):
            writer.writerow(
                [f"u-{i}", f"User {i}", f"user{i}@example.com", f"+1415{i % 10_000_000:07d}",
                 PLANS[i % 3], 18 + i % 60]
            )  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to import (1000000)")
    args = parser.parse_args()
    handle_sigterm()
    with temp_home("clevertap-import") as home:
        source = home / "profiles.csv"
        log(f"writing {args.rows:,} rows to {source}")
        write_rows(source, args.rows)
        port = free_port()
        sandbox = subprocess.Popen(
            [*RELAYFLOW, "sandbox", "clevertap", "--port", str(port), "--db",
             str(home / "sandbox.db"), "--account", f"{ACCOUNT}:{PASSCODE}"],
            stdout=(home / "sandbox.log").open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        env_home = ["--home", str(home)]
        try:
            wait_http(f"{url}/_sandbox/health")
            subprocess.run(
                [*RELAYFLOW, "accounts", "add", "clevertap", "bench", *env_home, "--account-id",
                 ACCOUNT, "--passcode", PASSCODE, "--endpoint", url],
                check=True, capture_output=True,
            )  # fmt: skip
            sandbox_cpu = cpu_seconds(sandbox.pid)
            command = [*RELAYFLOW, "import", "clevertap", "profiles", str(source), *env_home,
                       "--account", "bench", "--identity", "user_id", "--map", "name=Name",
                       "--map", "email=Email", "--map", "phone=Phone", "--map", "age=Age",
                       "--json"]  # fmt: skip
            log("importing")
            started = time.monotonic()
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            peak, import_cpu = 0.0, 0.0
            while proc.poll() is None:
                peak = max(peak, peak_rss_mb(proc.pid) or 0.0)
                with contextlib.suppress(OSError):
                    import_cpu = cpu_seconds(proc.pid)
                time.sleep(0.2)
            wall = time.monotonic() - started
            output = proc.stdout.read().decode() if proc.stdout else ""
            sandbox_cpu = cpu_seconds(sandbox.pid) - sandbox_cpu
            stats = httpx.get(f"{url}/_sandbox/stats", timeout=30).json()["uploads"]
            stored = httpx.post(
                f"{url}/1/counts/profiles.json",
                headers={"X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": PASSCODE},
                json={}, timeout=60,
            ).json()["count"]  # fmt: skip
        finally:
            stop_process(sandbox)
    if proc.returncode != 0:
        log(f"the import exited {proc.returncode}:\n{output}")
        return 1
    per_k = 1000 / args.rows
    print_table(
        [
            ("rows", f"{args.rows:,}"),
            ("import wall time", f"{wall:.1f} s"),
            ("records/s", f"{args.rows / wall:,.0f}  (target >= 20,000)"),
            ("peak RSS of the import", f"{peak:.0f} MB  (target <= 200 MB)"),
            ("import CPU per 1,000 records", f"{import_cpu * per_k * 1000:.1f} ms (sampled)"),
            ("sandbox CPU per 1,000 records", f"{sandbox_cpu * per_k * 1000:.1f} ms"),
            (
                "upload requests",
                f"{stats['requests']:,}, {stats['mean_records_per_request']} records each",
            ),  # fmt: skip
            ("profiles in the sandbox", f"{stored:,}"),
        ]
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
