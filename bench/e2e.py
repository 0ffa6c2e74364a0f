"""End to end at the shipped defaults: sign-ups in, deliveries out, beside a naive app.

For each connection count (10, 64 and 256 by default), wrk sends N sign-ups with unique
user ids to `relayflow up` (fresh temp home, default settings, default workflow
`concurrency` of 100) running

  (a) webhook -> one `http.request` POST to a local sink (bench/sink.py), and
  (b) the seed workflow (examples/signup-to-clevertap.yaml: upload_profile, then
      upload_event) against the CleverTap sandbox, with its `concurrency:` line removed
      so that the default applies,

then to a naive FastAPI + SQLite app (bench/naive_app.py: commits each request, delivers
in a background task with httpx) doing the same, measured the same way (but sending for
at most 15 s, as it is much slower). It reports:

  acks/s (events stored / first send -> last event stored), wrk's ack latency p50/p99,
  delivered/s (deliveries / first send -> last delivery), records per CleverTap request,
  peak RSS (all processes), CPU µs per acknowledged event (server process) and per
  delivered run (worker processes), from /proc; the load average before and after.

Goals (issue 10): delivered/s >= 0.8 x acks/s; >= 2,000 deliveries/s for (a) and
>= 3,000 records/s for (b); p99 ack < 50 ms at 64 connections; and for (b) >= 200 records
per request on average.

    .venv/bin/python bench/e2e.py [--events 10000] [--connections 10,64,256] [--only a|b]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from common import (
    RELAYFLOW,
    ROOT,
    Relayflow,
    db_scalar,
    descendants,
    free_port,
    log,
    rss_kb,
    run_main,
    stop_process,
    temp_home,
    wrk_summary,
)

BENCH = Path(__file__).resolve().parent
ACCOUNT, PASSCODE = "E2E-ACCOUNT", "e2e-passcode"
# --token: the account also gets the sandbox's X-CleverTap-Token (bulk sends, /2)
ACCOUNT_OPTIONS: list[str] = []
SETTINGS = ""  # --concurrency N: (a)'s workflow gets `settings: concurrency: N` (not the default)
NAIVE_SECONDS = 15.0
NAIVE_DRAIN = 120.0  # seconds it gets to deliver what it acknowledged
HTTP_WORKFLOW = """\
name: e2e-http
trigger:
  http:
    path: signup
steps:
  - name: deliver
    uses: http.request
    with:
      method: POST
      url: "{sink}/deliver"
      body:
        user: "{{{{ steps.trigger.event.body.user_id }}}}"
        plan: "{{{{ steps.trigger.event.body.plan }}}}"
"""
# Unique users per run; each thread stops after its share of responses, and the benchmark
# interrupts wrk (which then prints its summary) once every event is stored.
WRK_SCRIPT = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n, limit, seen = 0, 0, 0
init = function(args) n = tonumber(args[1]); limit = tonumber(args[2]) end
request = function()
  n = n + 1
  local body = string.format('{"user_id": "u-%d", "email": "user%d@example.com",'
    .. ' "name": "User %d", "phone": "+1415555%04d", "plan": "pro", "utm_source": "e2e"}',
    n, n, n, n % 10000)
  return wrk.format(nil, nil, nil, body)
end
response = function(status, headers, body)
  seen = seen + 1
  if seen >= limit then wrk.thread:stop() end
end
done = function(summary, latency, requests)
  io.write(string.format("WRKJSON {\\"requests\\": %d, \\"non2xx\\": %d, \\"errors\\": %d,"
    .. " \\"p50_us\\": %d, \\"p99_us\\": %d, \\"max_us\\": %d}\\n", summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, latency:percentile(50),
    latency:percentile(99), latency.max))
end
"""


@dataclass
class Figures:
    app: str
    scenario: str
    connections: int
    acked: int = 0
    acks_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    delivered: int = 0
    delivered_per_s: float = 0.0
    records: int = 0
    requests: int = 0
    rss_mb: float = 0.0
    server_us_per_ack: float = 0.0
    worker_us_per_run: float = 0.0
    errors: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def records_per_request(self) -> float:
        return self.records / self.requests if self.requests else 0.0

    @property
    def records_per_s(self) -> float:
        return self.delivered_per_s * (self.records / self.delivered if self.delivered else 0)


# Processes and /proc --------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sampler:
    """Peak RSS of a process tree and the CPU of its processes, sampled every 0.2 s (CPU
    of processes that exit meanwhile keeps its last sample)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_mb = 0.0
        self.cpu: dict[int, float] = {}
        self.start_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> None:
        pids = descendants(self.root)
        self.peak_mb = max(self.peak_mb, sum((rss_kb(p) or 0) for p in pids) / 1024)
        for pid in pids:
            self.cpu[pid] = cpu_seconds(pid)

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def __enter__(self) -> Sampler:
        self.sample()
        self.start_cpu = dict(self.cpu)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sample()

    def used(self, pid: int) -> float:
        return self.cpu.get(pid, 0.0) - self.start_cpu.get(pid, 0.0)

    def used_by_others(self, pid: int) -> float:
        return sum(self.used(p) for p in self.cpu if p != pid)


# Load --------------------------------------------------------------------------------------


def send(
    url: str, events: int, connections: int, offset: int, stored, home: Path, seconds: float
) -> dict:
    """wrk until `stored()` reaches `events` (each thread stops after its share) or for at
    most `seconds`; returns wrk's summary."""
    script = home / "signups.lua"
    script.write_text(WRK_SCRIPT)
    threads = 2 if connections >= 64 else 1
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", "-d120s", "--timeout=10s", "-s"]
    cmd += [str(script), url, "--", str(offset), str(-(-events // threads))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + seconds
    try:
        while stored() < events and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.2)  # let the last answers reach wrk
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return wrk_summary(out)


def wait_until(done, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout:.0f}s")
        time.sleep(0.05)


# The two apps --------------------------------------------------------------------------------


class Sandbox:
    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [*RELAYFLOW, "sandbox", "clevertap", "--port", str(self.port)]
            + ["--db", str(home / "sandbox.db"), "--account", f"{ACCOUNT}:{PASSCODE}"],
            stdout=(home / "sandbox.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: _answers(f"{self.url}/_sandbox/health"), 30, "the sandbox is down")

    def reset(self) -> None:
        httpx.post(f"{self.url}/_sandbox/reset", json={}, timeout=30)

    def uploads(self) -> dict:
        return httpx.get(f"{self.url}/_sandbox/stats", timeout=30).json()["uploads"]


class SinkServer:
    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "sink.py"), str(self.port)],
            stdout=(home / "sink.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: _answers(f"{self.url}/_stats"), 30, "the sink is down")

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/_stats", timeout=10).json()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def seed_workflow() -> str:
    source = (ROOT / "examples" / "signup-to-clevertap.yaml").read_text()
    lines = [ln for ln in source.splitlines() if not ln.strip().startswith("concurrency:")]
    return "\n".join(lines).replace("clevertap-demo", "e2e") + "\n"


def run_relayflow(
    scenario: str, connections: int, events: int, sink: SinkServer, sandbox: Sandbox, offset: int
) -> Figures:
    figures = Figures("relayflow up", scenario, connections)
    with temp_home(f"e2e-{scenario}") as home, Relayflow(home) as rf:
        if scenario == "a":
            rf.deploy(HTTP_WORKFLOW.format(sink=sink.url) + SETTINGS)
        else:
            subprocess.run(
                [*RELAYFLOW, "accounts", "add", "clevertap", "e2e", "--home", str(home)]
                + ["--account-id", ACCOUNT, "--passcode", PASSCODE, "--endpoint", sandbox.url]
                + ACCOUNT_OPTIONS,
                check=True,
                capture_output=True,
                env=rf.env,
            )
            rf.deploy(seed_workflow())
        rf.start()
        rf.wait_route("signup")
        # One sign-up through first: the worker processes are up and connections warm.
        body = {"user_id": "warm-up", "email": "w@example.com", "name": "Warm Up"}
        body |= {"phone": "+14155550000", "plan": "pro", "utm_source": "e2e"}
        httpx.post(f"{rf.url}/hooks/signup", json=body, timeout=30)
        wait_until(
            lambda: db_scalar(rf.db_path, "SELECT COUNT(*) FROM runs WHERE finished_at > 0"),
            60,
            "the warm-up run did not finish",
        )
        base_delivered = sink.stats()["received"]
        sandbox.reset()
        base_events = db_scalar(rf.db_path, "SELECT COUNT(*) FROM events")
        stored = lambda: db_scalar(rf.db_path, "SELECT COUNT(*) FROM events") - base_events  # noqa: E731
        with Sampler(rf.pid) as sampler:
            t0 = time.time()
            url = f"{rf.url}/hooks/signup"
            summary = send(url, events, connections, offset, stored, home, 110)
            acked = stored()
            pending = "SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')"
            wait_until(lambda: db_scalar(rf.db_path, pending) == 0, 600, "runs still pending")
        last_ack = db_scalar(rf.db_path, "SELECT MAX(received_at) FROM events")
        if scenario == "a":
            stats = sink.stats()
            figures.delivered, last = stats["received"] - base_delivered, stats["last"]
            figures.records = figures.requests = figures.delivered
        else:
            figures.delivered = (
                db_scalar(rf.db_path, "SELECT COUNT(*) FROM runs WHERE status = 'succeeded'") - 1
            )
            last = db_scalar(rf.db_path, "SELECT MAX(finished_at) FROM runs")
            uploads = sandbox.uploads()
            figures.records, figures.requests = uploads["records"], uploads["requests"]
        failed = db_scalar(rf.db_path, "SELECT COUNT(*) FROM runs WHERE status != 'succeeded'")
        if failed:
            figures.notes.append(f"{failed} runs did not succeed")
        _fill(figures, summary, acked, t0, last_ack, last, sampler, rf.pid)
    return figures


def run_naive(
    scenario: str, connections: int, events: int, sink: SinkServer, sandbox: Sandbox, offset: int
) -> Figures:
    figures = Figures("naive FastAPI", scenario, connections)
    with temp_home(f"e2e-naive-{scenario}") as home:
        port = free_port()
        db = home / "naive.db"
        env = {**os.environ, "NAIVE_DB": str(db), "PYTHONPATH": str(BENCH)}
        if scenario == "a":
            env["NAIVE_SINK_URL"] = f"{sink.url}/deliver"
        else:
            env |= {"NAIVE_CLEVERTAP_URL": sandbox.url, "NAIVE_ACCOUNT": ACCOUNT}
            env["NAIVE_PASSCODE"] = PASSCODE
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "naive_app:app", "--port", str(port)]
            + ["--log-level", "warning", "--no-access-log"],
            env=env,
            cwd=BENCH,
            stdout=(home / "naive.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: _answers(f"{url}/docs"), 30, "the naive app is down")
            base_delivered = sink.stats()["received"]
            sandbox.reset()
            stored = lambda: db_scalar(db, "SELECT COUNT(*) FROM events")  # noqa: E731
            with Sampler(proc.pid) as sampler:
                t0 = time.time()
                # It may be far slower: it gets NAIVE_SECONDS of sending, not all N.
                hook = f"{url}/hooks/signup"
                summary = send(hook, events, connections, offset, stored, home, NAIVE_SECONDS)
                acked = stored()
                undelivered = "SELECT COUNT(*) FROM events WHERE delivered_at IS NULL"
                try:
                    wait_until(lambda: db_scalar(db, undelivered) == 0, NAIVE_DRAIN, "")
                except TimeoutError:
                    left = db_scalar(db, undelivered)
                    log(
                        f"  the naive app left {left} of {acked} undelivered after "
                        f"{NAIVE_DRAIN} s; delivered/s counts what it delivered"
                    )
            last_ack = db_scalar(db, "SELECT MAX(received_at) FROM events")
            last = db_scalar(db, "SELECT MAX(delivered_at) FROM events")
            if scenario == "a":
                figures.delivered = sink.stats()["received"] - base_delivered
                figures.records = figures.requests = figures.delivered
            else:
                figures.delivered = acked - db_scalar(db, undelivered)
                uploads = sandbox.uploads()
                figures.records, figures.requests = uploads["records"], uploads["requests"]
            _fill(figures, summary, acked, t0, last_ack, last, sampler, proc.pid)
        finally:
            stop_process(proc)
    return figures


def _fill(
    figures: Figures,
    summary: dict,
    acked: int,
    t0: float,
    last_ack: float,
    last_delivery: float,
    sampler: Sampler,
    server_pid: int,
) -> None:
    figures.acked = acked
    figures.acks_per_s = acked / max(last_ack - t0, 1e-6)
    figures.p50_ms, figures.p99_ms = summary["p50_us"] / 1000, summary["p99_us"] / 1000
    figures.errors = summary["errors"] + summary["non2xx"]
    figures.delivered_per_s = figures.delivered / max(last_delivery - t0, 1e-6)
    figures.rss_mb = sampler.peak_mb
    figures.server_us_per_ack = sampler.used(server_pid) * 1e6 / max(acked, 1)
    figures.worker_us_per_run = sampler.used_by_others(server_pid) * 1e6 / max(figures.delivered, 1)


# Report --------------------------------------------------------------------------------------


def verdicts(f: Figures) -> list[str]:
    if f.app != "relayflow up":
        return []
    out = []
    keeps_up = f.delivered_per_s >= 0.8 * f.acks_per_s
    out.append(f"delivered >= 0.8 x acks: {'PASS' if keeps_up else 'MISS'}")
    if f.scenario == "a":
        out.append(f">= 2,000 deliveries/s: {'PASS' if f.delivered_per_s >= 2000 else 'MISS'}")
    else:
        out.append(f">= 3,000 records/s: {'PASS' if f.records_per_s >= 3000 else 'MISS'}")
        out.append(f">= 200 records/request: {'PASS' if f.records_per_request >= 200 else 'MISS'}")
    if f.connections == 64:
        out.append(f"p99 < 50 ms: {'PASS' if f.p99_ms < 50 else 'MISS'}")
    return out


def report(all_figures: list[Figures], load_before: tuple, load_after: tuple) -> None:
    header = (
        "scenario",
        "app",
        "conns",
        "acked",
        "acks/s",
        "p50 ms",
        "p99 ms",
        "delivered/s",
        "records/s",
        "rec/req",
        "RSS MB",
        "µs/ack (server)",
        "µs/run (workers)",
    )
    rows = [header]
    for f in all_figures:
        rows.append(
            (
                "(a) http.request" if f.scenario == "a" else "(b) CleverTap",
                f.app,
                str(f.connections),
                str(f.acked),
                f"{f.acks_per_s:,.0f}",
                f"{f.p50_ms:.1f}",
                f"{f.p99_ms:.1f}",
                f"{f.delivered_per_s:,.0f}",
                f"{f.records_per_s:,.0f}",
                f"{f.records_per_request:.0f}",
                f"{f.rss_mb:.0f}",
                f"{f.server_us_per_ack:.0f}",
                f"{f.worker_us_per_run:.0f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    print()
    for row in rows:
        print("  " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    print()
    for f in all_figures:
        notes = verdicts(f) + f.notes + ([f"{f.errors} wrk errors"] if f.errors else [])
        if notes:
            print(f"  ({f.scenario}) {f.app} c{f.connections}: " + "; ".join(notes))
    print(
        f"\n  load average before {load_before[0]:.2f} / {load_before[1]:.2f}, after"
        f" {load_after[0]:.2f} / {load_after[1]:.2f} (1 / 5 min), {os.cpu_count()} cores"
    )
    print("  µs/ack: CPU of the process that answers the webhooks per acknowledged event;")
    print("  µs/run: CPU of the processes below it (relayflow's workers) per delivered run")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="sign-ups per run (10000)")
    parser.add_argument("--connections", default="10,64,256", help="wrk connection counts")
    parser.add_argument("--only", choices=["a", "b"], help="one scenario only")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive app")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--token",
        action="store_true",
        help="(b): give the account an X-CleverTap-Token, so personalised messages batch",
    )
    parser.add_argument(
        "--concurrency", type=int, help="(a): the workflow's concurrency (default: unset, 10)"
    )
    args = parser.parse_args()
    if args.concurrency:
        global SETTINGS
        SETTINGS = f"settings:\n  concurrency: {args.concurrency}\n"
    if args.token:
        ACCOUNT_OPTIONS.extend(["--token", "sandbox-token"])
    connections = [int(c) for c in args.connections.split(",")]
    scenarios = [args.only] if args.only else ["a", "b"]
    load_before = os.getloadavg()
    figures: list[Figures] = []
    with temp_home("e2e-services") as home:
        sink, sandbox = SinkServer(home), Sandbox(home)
        try:
            offset = 0
            for scenario in scenarios:
                for conns in connections:
                    runners = [run_relayflow] + ([] if args.no_naive else [run_naive])
                    for runner in runners:
                        offset += 10_000_000
                        log(f"({scenario}) {runner.__name__} with {conns} connections")
                        found = runner(scenario, conns, args.events, sink, sandbox, offset)
                        log(
                            f"  {found.acks_per_s:,.0f} acks/s, p99 {found.p99_ms:.1f} ms,"
                            f" {found.delivered_per_s:,.0f} delivered/s,"
                            f" {found.records_per_request:.0f} records/request"
                        )
                        figures.append(found)
        finally:
            stop_process(sink.proc)
            stop_process(sandbox.proc)
    report(figures, load_before, os.getloadavg())
    if args.json:
        print(json.dumps([f.__dict__ for f in figures], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
