"""Reliability under `kill -9`: no acknowledged event lost, completed steps never repeated.

A Python sender posts events continuously and records every event acknowledged with a 200
(its event_id and run_id). Meanwhile `relayflow up` is killed with SIGKILL (its whole process
group) every 3-5 s, `--kills` times, and restarted each time on the same home and port. The
workflow's middle step is an http.request to a counter server run here, which records
every hit per run id. At the end (after the dead processes' leases expire and their runs are
reclaimed) it checks that:

  - every acknowledged event is stored and its run succeeded (nothing lost);
  - every succeeded run hit the counter at least once;
and reports duplicated step executions: runs that hit the counter more than once (only a
step in flight at a kill may run again) against the runs that were in flight at kills.

    .venv/bin/python bench/crash.py [--kills 5] [--min-gap 3] [--max-gap 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import threading
import time
from urllib.parse import parse_qs, urlsplit

from common import (
    BODY,
    HOST,
    PENDING_RUNS,
    PyLoad,
    Relayflow,
    db_query,
    db_scalar,
    descendants,
    free_port,
    log,
    print_table,
    run_main,
    temp_home,
    wait_drained,
)


class CounterServer:
    """A minimal keep-alive HTTP/1.1 server on 127.0.0.1 counting hits per `?run=` value."""

    REPLY = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n"
        b'{"ok":true}'
    )

    def __init__(self) -> None:
        self.port = free_port()
        self.hits: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                target = lines[0].split(b" ")[1].decode()
                length = 0
                for line in lines[1:]:
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                run = parse_qs(urlsplit(target).query).get("run", [""])[0]
                with self._lock:
                    self.hits[run] += 1
                writer.write(self.REPLY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
            pass
        finally:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, HOST, self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.hits)

    def __enter__(self) -> CounterServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def crash_workflow(counter_port: int, concurrency: int) -> str:
    return f"""\
name: bench-crash
trigger:
  http:
    path: crash
steps:
  - name: before
    uses: util.echo
    with:
      value: "{{{{ steps.trigger.event.body.n }}}}"
  - name: count
    uses: http.request
    with:
      method: POST
      url: "http://{HOST}:{counter_port}/count?run={{{{ steps.trigger.context.run_id }}}}"
      body: {{ n: "{{{{ steps.before.$return_value }}}}" }}
      timeout: 10
  - name: after
    uses: util.echo
    with:
      value: "{{{{ steps.count.$return_value.body }}}}"
settings:
  concurrency: {concurrency}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=5, help="kill -9 this many times (5)")
    parser.add_argument("--min-gap", type=float, default=3, help="seconds between kills, min")
    parser.add_argument("--max-gap", type=float, default=5, help="seconds between kills, max")
    parser.add_argument("--tail", type=float, default=3, help="load after the last restart (s)")
    parser.add_argument("--connections", type=int, default=16, help="sender connections (16)")
    parser.add_argument(
        "--concurrency", type=int, default=100, help="settings.concurrency (100, the default)"
    )
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=2,
        help="RELAYFLOW_LEASE_SECONDS (2, so that a killed process's runs are reclaimed"
        " before the next kill; with the default 30 they hold the workflow's concurrency"
        " slots for 30 s and the next lives run nothing)",
    )
    parser.add_argument("--drain-timeout", type=float, default=180)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-home", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    acked: dict[str, str] = {}  # run_id -> event_id
    kills = []
    env = {"RELAYFLOW_LEASE_SECONDS": f"{args.lease_seconds:g}"}
    with (
        temp_home("crash", args.keep_home) as home,
        CounterServer() as counter,
        Relayflow(home, env=env) as rf,
    ):
        rf.deploy(crash_workflow(counter.port, args.concurrency))
        rf.start()
        rf.wait_route("crash")
        stop = threading.Event()
        sender = PyLoad(
            f"{rf.url}/hooks/crash",
            BODY,
            connections=args.connections,
            on_ack=lambda reply: acked.__setitem__(reply["run_id"], reply["event_id"]),
            tolerate_errors=True,
            stop=stop,
        )
        results = {}
        thread = threading.Thread(target=lambda: results.update(load=sender.run()), daemon=True)
        thread.start()
        t0 = time.monotonic()
        try:
            for i in range(args.kills):
                time.sleep(rng.uniform(args.min_gap, args.max_gap))
                finished = rf.metrics().get("relayflow_runs_finished_total", 0)
                # One snapshot; owners name their process (`up`'s own and its workers').
                owners = db_query(
                    rf.db_path, "SELECT lease_owner FROM runs WHERE status = 'running'"
                )
                ours = {f":{pid}:" for pid in descendants(rf.pid)}
                in_flight = sum(1 for (o,) in owners if o and any(p in o for p in ours))
                orphaned = len(owners)
                rf.kill9()
                killed_at = time.monotonic() - t0
                log(
                    f"kill -9 #{i + 1} at {killed_at:.1f}s: {len(acked):,} acked so far;"
                    f" this process finished {int(finished):,} runs and had {in_flight} running"
                    f" ({orphaned - in_flight} more still leased by processes killed before)"
                )
                started = time.monotonic()
                rf.start()
                kills.append(
                    {
                        "at_s": round(killed_at, 1),
                        "acked_before": len(acked),
                        "running": in_flight,
                        "leased_by_dead": orphaned - in_flight,
                        "finished_by_process": int(finished),
                        "restart_s": round(time.monotonic() - started, 2),
                    }
                )
            time.sleep(args.tail)
        finally:
            stop.set()
            thread.join(30)
        load_s = time.monotonic() - t0
        log(
            f"sender stopped: {len(acked):,} acknowledged, {sender.errors} failed requests;"
            f" waiting for all runs (leases of killed processes: {args.lease_seconds:g}s)"
        )
        drained = True
        try:
            wait_drained(rf.db_path, args.drain_timeout, poll=0.5)
        except TimeoutError as exc:
            drained = False
            log(str(exc))
        hits = counter.snapshot()
        runs = dict(db_query(rf.db_path, "SELECT id, status FROM runs"))
        events = {row[0] for row in db_query(rf.db_path, "SELECT id FROM events")}
        claims = collections.Counter(c for (c,) in db_query(rf.db_path, "SELECT claims FROM runs"))
        pending = db_scalar(rf.db_path, PENDING_RUNS)
        errors = rf.log_errors()

    lost_events = [e for e in acked.values() if e not in events]
    lost_runs = [r for r in acked if r not in runs]
    not_succeeded = collections.Counter(
        runs[r] for r in acked if r in runs and runs[r] != "succeeded"
    )
    never_counted = [r for r, s in runs.items() if s == "succeeded" and hits.get(r, 0) == 0]
    dup_runs = {r: n for r, n in hits.items() if n > 1}
    extra_hits = sum(n - 1 for n in dup_runs.values())
    at_kills = sum(k["running"] for k in kills)
    unknown_hits = [r for r in hits if r not in runs]
    ok = not lost_events and not lost_runs and not not_succeeded and not never_counted
    # Only a step in flight at a kill may run again.
    ok = ok and drained and not unknown_hits and extra_hits <= at_kills
    summary = {
        "kills": kills,
        "load_s": round(load_s, 1),
        "acknowledged": len(acked),
        "failed_requests": sender.errors,
        "runs_total": len(runs),
        "runs_unacknowledged": len(runs) - len(set(acked) & set(runs)),
        "lost_events": len(lost_events),
        "lost_runs": len(lost_runs),
        "acked_not_succeeded": dict(not_succeeded),
        "pending_at_end": pending,
        "succeeded_without_counter_hit": len(never_counted),
        "runs_counted_more_than_once": len(dup_runs),
        "extra_step_executions": extra_hits,
        "runs_running_at_kills": at_kills,
        "runs_by_claims": dict(sorted(claims.items())),
        "server_log_errors": len(errors),
        "ok": ok,
    }
    print("\ncrash results")
    print_table(
        [
            (
                "kills",
                f"{len(kills)} × kill -9 over {load_s:.0f} s, at "
                + ", ".join(f"{k['at_s']}s" for k in kills),
            ),
            ("restart time", ", ".join(f"{k['restart_s']}s" for k in kills)),
            (
                "runs finished per life",
                ", ".join(str(k["finished_by_process"]) for k in kills)
                + " (by each killed process; running at its kill: "
                + ", ".join(str(k["running"]) for k in kills)
                + "; leased by earlier dead processes: "
                + ", ".join(str(k["leased_by_dead"]) for k in kills)
                + ")",
            ),
            ("acknowledged events", f"{len(acked):,} ({sender.errors:,} requests failed)"),
            ("runs in database", f"{len(runs):,} ({summary['runs_unacknowledged']} never acked)"),
            (
                "lost",
                f"{len(lost_events)} events, {len(lost_runs)} runs"
                f"  [{'OK' if not lost_events and not lost_runs else 'LOST'}]",
            ),
            (
                "acked runs not succeeded",
                f"{dict(not_succeeded) or 0} (pending at end: {pending})",
            ),
            ("succeeded without a hit", str(len(never_counted))),
            (
                "duplicate step executions",
                f"{len(dup_runs)} runs hit the counter more than once ({extra_hits} extra);"
                f" ~{at_kills} runs were running at the kills",
            ),
            ("runs by claims", str(dict(sorted(claims.items())))),
            ("server log errors", str(len(errors))),
            ("verdict", "OK" if ok else "FAILED"),
        ]
    )
    for line in errors[:10]:
        print("   ", line)
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(run_main(main))
