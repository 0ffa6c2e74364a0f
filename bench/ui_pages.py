"""Server time of the web UI's main pages with 100,000 runs stored.

Deploys a few workflows, then seeds the SQLite file directly (executemany, one
transaction): N events and runs spread over the last 48 hours (5% failed, a few sleeping),
each with two step results, mostly in one busy workflow. Then `relayflow up` serves the
pages to a signed-in client; each page is fetched `--repeat` times after a warm-up.

Server time is the page's own `Server-Timing: app;dur=…` (from the session check to the
rendered HTML); "client" adds HTTP and uvicorn. Target: every page p95 < 200 ms.

    .venv/bin/python bench/ui_pages.py [--runs 100000] [--repeat 40] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import time
from pathlib import Path

import httpx

from common import Relayflow, handle_sigterm, log, print_table, temp_home

TARGET_MS = 200.0
PASSWORD = "bench-password-1"
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
WORKFLOWS = ["signup-to-clevertap", "purchase-to-charged", "cart-abandoned", "nightly-sync"]
WEIGHTS = [0.7, 0.2, 0.07, 0.03]

WORKFLOW = """\
name: {name}
trigger:
  http:
    path: {name}
steps:
  - name: shape
    uses: util.echo
    with:
      value:
        identity: "{{{{ steps.trigger.event.body.user_id }}}}"
        email: "{{{{ steps.trigger.event.body.email }}}}"
  - name: upsert
    uses: util.echo
    with:
      value: "{{{{ steps.shape.$return_value }}}}"
"""


def ulid(ms: int, rng: random.Random) -> str:
    def encode(value: int, length: int) -> str:
        out = []
        for _ in range(length):
            value, rem = divmod(value, 32)
            out.append(ALPHABET[rem])
        return "".join(reversed(out))

    return encode(ms, 10) + encode(rng.getrandbits(80), 16)


def seed(db_path: Path, runs: int) -> dict[str, str]:
    """Insert `runs` events, runs and step results; returns ids worth looking at."""
    rng = random.Random(7)
    conn = sqlite3.connect(db_path)
    ids = dict(conn.execute("SELECT name, id FROM workflows").fetchall())
    now = time.time()
    events, run_rows, steps = [], [], []
    picked: dict[str, str] = {}
    for n in range(runs):
        name = rng.choices(WORKFLOWS, WEIGHTS)[0]
        created = now - 48 * 3600 * (1 - n / runs) + rng.random() * 0.001
        run_id, event_id = ulid(int(created * 1000), rng), ulid(int(created * 1000), rng)
        email = f"user{n}@example.com"
        body = {"user_id": f"u-{n}", "email": email, "name": f"User {n}", "plan": "pro"}
        payload = {
            "method": "POST",
            "path": f"/{name}",
            "query": {},
            "headers": {"content-type": "application/json", "user-agent": "curl/8.0"},
            "body": body,
            "client_ip": "127.0.0.1",
            "url": f"http://127.0.0.1:8787/hooks/{name}",
        }
        roll = rng.random()
        status = "failed" if roll < 0.05 else "sleeping" if roll < 0.051 else "succeeded"
        error = (
            "step upsert: CleverTap rejected the profile (code 516)" if status == "failed" else None
        )
        events.append((event_id, ids[name], created, json.dumps(payload), 0))
        run_rows.append(
            (run_id, event_id, ids[name], 1, status, created, created, created + 0.002,
             created + 0.02, 2, 1, error, 0)
        )  # fmt: skip
        for index, step in enumerate(("shape", "upsert")):
            failed = status == "failed" and index == 1
            steps.append(
                (run_id, index, step, "failed" if failed else "succeeded",
                 json.dumps({"value": {"identity": body["user_id"], "email": email}}),
                 None if failed else json.dumps({"identity": body["user_id"], "email": email}),
                 "{}", "[]",
                 json.dumps({"name": "StepError", "message": error}) if failed else None,
                 1, created + 0.003 + index * 0.008, created + 0.01 + index * 0.008)
            )  # fmt: skip
        if n == runs // 2:
            picked["run"] = run_id
            picked["email"] = email
            picked["before"] = repr(created)
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        conn.executemany(
            "INSERT INTO events (id, workflow_id, received_at, payload, test)"
            " VALUES (?, ?, ?, ?, ?)",
            events,
        )
        conn.executemany(
            "INSERT INTO runs (id, event_id, workflow_id, version, status, created_at,"
            " available_at, started_at, finished_at, next_step, claims, error, test)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            run_rows,
        )
        conn.executemany(
            "INSERT INTO step_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", steps
        )
        # Sleeping runs wait far in the future, so the worker leaves them alone.
        conn.execute("UPDATE runs SET available_at = ? WHERE status = 'sleeping'", (now + 1e7,))
    conn.execute("ANALYZE")
    conn.close()
    return picked


def measure(client: httpx.Client, path: str, repeat: int) -> tuple[list[float], list[float]]:
    server, wall = [], []
    for i in range(repeat + 3):
        started = time.perf_counter()
        answer = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
        if i >= 3:  # warm-up first
            timing = answer.headers.get("server-timing", "app;dur=nan")
            server.append(float(timing.split("dur=")[1]))
            wall.append(elapsed)
    return server, wall


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args()
    handle_sigterm()
    with temp_home("ui", keep=args.keep) as home:
        env = {"RELAYFLOW_ADMIN_PASSWORD": PASSWORD, "RELAYFLOW_HOME": str(home)}
        rf = Relayflow(home, env=env)
        for name in WORKFLOWS:
            rf.deploy(WORKFLOW.format(name=name), name=f"{name}.yaml")
        started = time.perf_counter()
        picked = seed(rf.db_path, args.runs)
        size = os.path.getsize(rf.db_path) / 1e6
        log(f"seeded {args.runs:,} runs in {time.perf_counter() - started:.1f}s ({size:.0f} MB)")
        with rf:
            rf.start()
            client = httpx.Client(base_url=rf.url, timeout=60)
            login = client.post("/login", data={"username": "admin", "password": PASSWORD})
            assert login.status_code == 303, login.text
            busy = WORKFLOWS[0]
            pages = [
                ("workflows list", "/workflows"),
                ("builder", f"/workflows/{busy}"),
                ("runs: newest", "/runs"),
                ("runs: one workflow", f"/runs?workflow={busy}"),
                ("runs: failed", "/runs?status=failed"),
                ("runs: workflow+failed+24h", f"/runs?workflow={busy}&status=failed&since=24h"),
                ("runs: rare status", "/runs?status=cancelled"),
                ("runs: older page", f"/runs?before={picked['before']}"),
                ("runs: search, 1 match", f"/runs?q={picked['email']}"),
                ("runs: search, none", "/runs?q=nobody@example.org"),
                ("runs: search, all match", "/runs?q=example.com"),
                ("run inspector", f"/runs/{picked['run']}"),
                ("accounts", "/accounts"),
                ("data stores", "/stores"),
            ]
            rows = []
            worst = 0.0
            for label, path in pages:
                server, wall = measure(client, path, args.repeat)
                worst = max(worst, pct(server, 0.95))
                rows.append(
                    (
                        label,
                        f"server p50 {statistics.median(server):6.1f} ms  p95"
                        f" {pct(server, 0.95):6.1f} ms   client p50"
                        f" {statistics.median(wall):6.1f} ms  p95 {pct(wall, 0.95):6.1f} ms",
                    )
                )
            client.close()
        print(f"\nweb UI pages, {args.runs:,} runs stored ({args.repeat} requests each):")
        verdict = "met" if worst < TARGET_MS else "MISSED"
        print_table([*rows, ("target", f"p95 < {TARGET_MS:.0f} ms server time: {verdict}")])


if __name__ == "__main__":
    main()
