"""CleverTap delivery end to end: N sign-ups through a two-step workflow (profile + event).

Starts the CleverTap sandbox and `relayflow up` (embedded SQLite) as separate processes,
connects an account to the sandbox, deploys examples/signup-to-clevertap.yaml without its
welcome message (uploads only: a message personalised per user is one CleverTap request
each without the account's token, which bench/e2e.py's scenario (b) measures), posts at
least N sign-ups with unique user ids (wrk, 64 connections, in rounds of whole seconds, so
the last round may add up to a second's worth more), waits until every run has finished
and reports:

  end-to-end events/s (first event received -> last run finished), runs by status,
  CleverTap upload requests and records per request (from the sandbox's own counters),
  and profiles stored in the sandbox.

Targets (issue: CleverTap app): >= 2,000 events/s end to end and >= 100 records per request.

    .venv/bin/python bench/clevertap.py [--events 10000] [--connections 64]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import httpx

from common import (
    RELAYFLOW,
    Relayflow,
    db_query,
    handle_sigterm,
    log,
    print_table,
    start_sandbox,
    stop_process,
    temp_home,
    wait_drained,
)

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT, PASSCODE = "BENCH-ACCOUNT", "bench-passcode"

# wrk always runs for its whole duration, so sign-ups are sent in short rounds; each round
# numbers its users from an offset so every user id is new.
WRK_SCRIPT = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
init = function(args) n = tonumber(args[1]) end
request = function()
  n = n + 1
  local body = string.format('{"user_id": "u-%d", "email": "user%d@example.com",'
    .. ' "name": "User %d", "phone": "+1415555%04d", "plan": "pro", "utm_source": "bench"}',
    n, n, n, n % 10000)
  return wrk.format(nil, nil, nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("WRKDONE %d %d\\n", summary.requests, summary.errors.status))
end
"""


def uploads_only(concurrency: int) -> str:
    """The seed example's upload steps (profile, event) and settings, without the send."""
    source = (ROOT / "examples" / "signup-to-clevertap.yaml").read_text()
    head, rest = source.split("  - name: welcome_message\n", 1)
    settings = rest[rest.index("settings:") :]
    return head + settings.replace("concurrency: 100", f"concurrency: {concurrency}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="sign-ups to send (10000)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument(
        "--concurrency", type=int, default=100, help="workflow concurrency (100, the default)"
    )
    args = parser.parse_args()
    handle_sigterm()
    with temp_home("clevertap") as home:
        sandbox, sandbox_url = start_sandbox(home, ACCOUNT, PASSCODE)
        try:
            rf = Relayflow(home)
            subprocess.run(
                [
                    *RELAYFLOW,
                    "accounts",
                    "add",
                    "clevertap",
                    "clevertap-demo",
                    "--home",
                    str(home),
                    "--account-id",
                    ACCOUNT,
                    "--passcode",
                    PASSCODE,
                    "--endpoint",
                    sandbox_url,
                ],
                check=True,
                capture_output=True,
                env=rf.env,
            )
            rf.deploy(uploads_only(args.concurrency))
            with rf:
                rf.start()
                script = home / "signups.lua"
                script.write_text(WRK_SCRIPT)
                log(f"wrk: {args.events} sign-ups over {args.connections} connections")
                started = time.time()
                sent_ok = send_signups(rf.url, script, args.events, args.connections)
                sent = time.time() - started
                wait_drained(rf.db_path, timeout=600)
                runs = dict(
                    db_query(rf.db_path, "SELECT status, COUNT(*) FROM runs GROUP BY status")
                )
                first, last = db_query(
                    rf.db_path, "SELECT MIN(created_at), MAX(finished_at) FROM runs"
                )[0]
            stats = httpx.get(f"{sandbox_url}/_sandbox/stats").json()
            uploads = stats["uploads"]
            profiles = httpx.post(
                f"{sandbox_url}/1/counts/profiles.json",
                headers={"X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": PASSCODE},
                json={},
            ).json()
        finally:
            stop_process(sandbox)
    total = sum(runs.values())
    e2e = total / (last - first) if last and first and last > first else 0.0
    mean = uploads["mean_records_per_request"]
    rows = [
        ("events acknowledged", f"{sent_ok} in {sent:.1f}s ({sent_ok / sent:,.0f}/s ingest)"),
        ("runs", str(runs)),
        (
            "end to end",
            f"{e2e:,.0f} events/s  [target >= 2,000: {'PASS' if e2e >= 2000 else 'MISS'}]",
        ),
        ("upload requests", f"{uploads['requests']} for {uploads['records']} records"),
        (
            "records per request",
            f"mean {mean}, max {uploads['max_records_per_request']}"
            f"  [target >= 100: {'PASS' if mean >= 100 else 'MISS'}]",
        ),
        ("profiles in the sandbox", str(profiles.get("count"))),
    ]
    print("\nclevertap delivery")
    print_table(rows)
    return 0 if runs.get("succeeded") == total else 1


def send_signups(url: str, script: Path, events: int, connections: int) -> int:
    """Rounds of wrk until `events` sign-ups were acknowledged; returns how many were."""
    acknowledged, rate, rounds = 0, 10_000.0, 0  # a first 1 s round measures the rate
    while acknowledged < events and rounds < 100:
        rounds += 1
        seconds = max(1, min(5, round((events - acknowledged) / rate)))
        started = time.time()
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout=10s",
                "-s",
                str(script),
                f"{url}/hooks/signup",
                "--",
                str(rounds * 10_000_000),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        done = next(line for line in out.splitlines() if line.startswith("WRKDONE"))
        requests, failed = (int(x) for x in done.split()[1:])
        acknowledged += requests - failed
        rate = max(100.0, (requests - failed) / (time.time() - started))
    return acknowledged


if __name__ == "__main__":
    sys.exit(main())
