"""What verifying and deduplicating signed deliveries costs, beside unsigned webhooks.

Starts `relayflow up` on a temp home with two workflows, each one `util.echo` step: an
unsigned http trigger at /hooks/plain, and `stripe.new_event` at /hooks/stripe. Then, in
the same run, wrk drives each at 64 connections: the unsigned one with one body, the
Stripe one with distinct deliveries (each its own event id) signed beforehand as Stripe
signs them, so every request is verified (HMAC-SHA256), deduplicated (one upsert) and
stored. Reports acknowledged events/s, latency and server CPU per event for each
(over the load and the drain of the runs it queued), and the cost of the signed path
(goal: <= 15 %).

    .venv/bin/python bench/sources.py [--seconds 20] [--connections 64] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

from common import (
    BODY,
    RELAYFLOW,
    Relayflow,
    db_scalar,
    echo_workflow,
    have_wrk,
    log,
    print_table,
    run_main,
    run_wrk,
    temp_home,
    thread_cpu,
    wait_drained,
)

SECRET = "whsec_bench_secret"
GOAL = 0.15

SIGNED_LUA = """\
local requests = {}
local next_one = 0
init = function(args)
  for line in io.lines(args[1]) do
    local signature, body = line:match("^([^\\t]+)\\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", nil,
      {["Content-Type"] = "application/json", ["Stripe-Signature"] = signature}, body)
  end
end
request = function()
  next_one = next_one + 1
  if next_one > #requests then next_one = 1 end
  return requests[next_one]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_us": %d, "requests": %d, "connect": %d, "read": %d, "write": %d,'
    .. ' "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d,'
    .. ' "p999_us": %d, "max_us": %d, "mean_us": %f}\\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
"""

STRIPE_WORKFLOW = """\
name: bench-stripe
trigger:
  source:
    uses: stripe.new_event
    account: bench-stripe
    path: stripe
steps:
  - name: echo
    uses: util.echo
    with:
      value: "{{ steps.trigger.event.data.object.amount_total }}"
"""


def write_deliveries(path: Path, count: int, round_: int) -> None:
    """`count` Stripe deliveries, each with its own event id, signed now."""
    from relayflow.apps.stripe import sign

    now = time.time()
    with path.open("w") as out:
        for n in range(count):
            body = json.dumps(
                {
                    "id": f"evt_bench_{round_}_{n}",
                    "object": "event",
                    "type": "checkout.session.completed",
                    "data": {"object": {"id": f"cs_{n}", "amount_total": 4200}},
                },
                separators=(",", ":"),
            ).encode()
            out.write(f"{sign(body, SECRET, now)['Stripe-Signature']}\t{body.decode()}\n")


def run_signed(url: str, deliveries: Path, connections: int, seconds: float, workdir: Path):
    script = workdir / "signed.lua"
    script.write_text(SIGNED_LUA, encoding="utf-8")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout=10s", "--latency"]
    cmd += ["-s", str(script), url, "--", str(deliveries)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary:\n{out}")
    return json.loads(line[len("WRKJSON ") :])


def cpu_us_per_event(pid: int, before: dict[int, float], events: int) -> float:
    after = thread_cpu(pid)
    spent = sum(after.get(t, 0.0) - before.get(t, 0.0) for t in after)
    return spent / events * 1e6 if events else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1, help="plain/signed pairs to run")
    parser.add_argument("--keep-home", action="store_true")
    args = parser.parse_args()
    if not have_wrk():
        log("wrk is needed: apt-get install -y wrk")
        return 2
    rows: list[tuple[str, str]] = []
    with temp_home("bench-sources", keep=args.keep_home) as home:
        rf = Relayflow(home)
        subprocess.run(
            [
                *RELAYFLOW,
                "accounts",
                "add",
                "stripe",
                "bench-stripe",
                "--webhook-secret",
                SECRET,
                "--home",
                str(home),
            ],
            check=True,
            capture_output=True,
            env=rf.env,
        )
        rf.deploy(echo_workflow("bench-plain", "plain"), "plain.yaml")
        rf.deploy(STRIPE_WORKFLOW, "stripe.yaml")
        rf.start()
        rf.wait_route("plain")
        rf.wait_route("stripe")
        with rf:
            costs = []
            for round_ in range(args.rounds):
                deliveries = home / f"deliveries-{round_}.tsv"
                write_deliveries(deliveries, int(args.seconds * 9000), round_)
                # CPU per event covers the load and the drain of the runs it queued.
                wait_drained(rf.db_path, 300)
                before = thread_cpu(rf.pid)
                plain = run_wrk(
                    f"{rf.url}/hooks/plain",
                    BODY,
                    connections=args.connections,
                    seconds=args.seconds,
                    workdir=home,
                )
                wait_drained(rf.db_path, 300)
                plain_cpu = cpu_us_per_event(rf.pid, before, plain.ok)
                before = thread_cpu(rf.pid)
                signed = run_signed(
                    f"{rf.url}/hooks/stripe", deliveries, args.connections, args.seconds, home
                )
                wait_drained(rf.db_path, 300)
                ok = signed["requests"] - signed["status"]
                signed_eps = ok / (signed["duration_us"] / 1e6)
                signed_cpu = cpu_us_per_event(rf.pid, before, ok)
                stored = db_scalar(
                    rf.db_path,
                    "SELECT COUNT(*) FROM events e JOIN workflows w ON w.id = e.workflow_id"
                    " WHERE w.name = 'bench-stripe'",
                )
                cost = 1 - signed_eps / plain.ok_per_s
                costs.append(cost)
                rows += [
                    (
                        f"round {round_ + 1}: unsigned",
                        f"{plain.ok_per_s:,.0f} events/s, p50"
                        f" {plain.p50_ms:.1f} / p99 {plain.p99_ms:.1f} ms, {plain_cpu:.0f} µs CPU"
                        f" per event, non-2xx {plain.non_2xx}",
                    ),
                    (
                        f"round {round_ + 1}: Stripe-signed",
                        f"{signed_eps:,.0f} events/s, p50"
                        f" {signed['p50_us'] / 1000:.1f} / p99 {signed['p99_us'] / 1000:.1f} ms,"
                        f" {signed_cpu:.0f} µs CPU per event, non-2xx {signed['status']}",
                    ),
                    (
                        f"round {round_ + 1}: stored",
                        f"{stored:,} Stripe events for {ok:,}"
                        " acknowledged (wrapped-around repeats are duplicates: no event)",
                    ),
                    (
                        f"round {round_ + 1}: cost",
                        f"{cost:.1%} fewer events/s, "
                        f"{signed_cpu / plain_cpu - 1:+.1%} CPU per event"
                        f"  [goal <= {GOAL:.0%}: {'PASS' if cost <= GOAL else 'MISS'}]",
                    ),
                ]
            errors = rf.log_errors()
    rows.append(("server log errors", str(len(errors))))
    print("\nsigned deliveries beside unsigned webhooks")
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
