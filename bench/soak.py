"""RSS of `relayflow up` under sustained webhook load, sampled over time.

Drives the one-step echo workflow with wrk in chunks until `--events` events have been
acknowledged (or `--max-seconds` passed), sampling the server's VmRSS every 0.5 s, then
waits for the backlog of runs to drain. Reports RSS at start (idle), after warm-up, at the
end of the load, after the drain, and the peak; "flat" means the RSS after the drain and the
peak after warm-up stay within 10 % (at least 10 MB) of the RSS after warm-up.

Target: <= 200 MB and flat. The real run is 1,000,000 events (about 6-10 minutes of load
here, then the drain); `--events 20000` is a quick check.

    .venv/bin/python bench/soak.py [--events 1000000] [--max-seconds 1800]
"""

from __future__ import annotations

import argparse
import json
import time

from common import (
    BODY,
    PENDING_RUNS,
    Relayflow,
    RssSampler,
    db_scalar,
    echo_workflow,
    load,
    log,
    print_table,
    rss_kb,
    run_main,
    temp_home,
    wait_drained,
)

TARGET_MB = 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to send (1e6)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--chunk-seconds", type=float, default=10, help="wrk run length (10)")
    parser.add_argument(
        "--warmup-fraction", type=float, default=0.1, help="share of events that is warm-up"
    )
    parser.add_argument(
        "--concurrency", type=int, help="settings.concurrency (the default, 100)"
    )
    parser.add_argument("--max-seconds", type=float, default=1800, help="load time limit")
    parser.add_argument("--drain-timeout", type=float, default=1800, help="drain time limit")
    parser.add_argument("--keep-home", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    timeline = []  # (seconds, events acknowledged, runs finished, backlog, rss MB)
    warm_events = max(1, int(args.events * args.warmup_fraction))
    with temp_home("soak", args.keep_home) as home, Relayflow(home) as rf:
        rf.deploy(echo_workflow("bench-soak", "soak", args.concurrency))
        rf.start()
        rf.wait_route("soak")
        time.sleep(1)
        idle_mb = (rss_kb(rf.pid) or 0) / 1024
        warm_mb = None
        acked = 0
        t0 = time.monotonic()
        with RssSampler(lambda: rf.pid) as rss:
            while acked < args.events and time.monotonic() - t0 < args.max_seconds:
                rate = acked / (time.monotonic() - t0) if acked else 0
                chunk = args.chunk_seconds
                if rate:
                    chunk = max(1.0, min(chunk, (args.events - acked) / rate))
                result = load(
                    f"{rf.url}/hooks/soak",
                    BODY,
                    connections=args.connections,
                    seconds=round(chunk),
                    workdir=home,
                )
                acked += result.ok
                finished = rf.metrics().get("relayflow_runs_finished_total", 0)
                backlog = db_scalar(rf.db_path, PENDING_RUNS)
                now = time.monotonic() - t0
                timeline.append((round(now, 1), acked, int(finished), backlog, rss.last_mb))
                log(
                    f"{acked:>9,} acked ({result.ok_per_s:,.0f}/s, p99 {result.p99_ms:.0f} ms)"
                    f"  {int(finished):>9,} runs finished  backlog {backlog:>7,}"
                    f"  RSS {rss.last_mb:.0f} MB (peak {rss.peak_mb:.0f})"
                )
                if warm_mb is None and acked >= warm_events:
                    warm_mb = rss.last_mb
                    warm_at = len(rss.samples)
            load_s = time.monotonic() - t0
            end_load_mb = rss.last_mb
            log("load stopped; waiting for the backlog to drain")
            try:
                wait_drained(rf.db_path, args.drain_timeout, poll=1)
                time.sleep(1)
            except TimeoutError as exc:
                log(f"gave up waiting: {exc}")
            drained_mb = rss.last_mb
            drain_s = time.monotonic() - t0 - load_s
        stored = db_scalar(rf.db_path, "SELECT COUNT(*) FROM events")
        succeeded = db_scalar(rf.db_path, "SELECT COUNT(*) FROM runs WHERE status = 'succeeded'")
        pending = db_scalar(rf.db_path, PENDING_RUNS)
        db_mb = sum(p.stat().st_size for p in home.glob("relayflow.db*")) / 2**20
        errors = rf.log_errors()

    if warm_mb is None:
        warm_mb, warm_at = end_load_mb, len(rss.samples) - 1
    peak_after_warm = max(mb for _, mb in rss.samples[warm_at:])
    allowance = max(10.0, warm_mb * 0.10)
    flat = drained_mb - warm_mb <= allowance and peak_after_warm - warm_mb <= allowance
    under = rss.peak_mb <= TARGET_MB
    summary = {
        "events_target": args.events,
        "acknowledged": acked,
        "events_stored": stored,
        "runs_succeeded": succeeded,
        "load_s": round(load_s, 1),
        "acknowledged_per_s": round(acked / load_s),
        "drain_s": round(drain_s, 1),
        "pending_at_end": pending,
        "rss_idle_mb": round(idle_mb, 1),
        "rss_after_warmup_mb": round(warm_mb, 1),
        "rss_end_of_load_mb": round(end_load_mb, 1),
        "rss_after_drain_mb": round(drained_mb, 1),
        "rss_peak_mb": round(rss.peak_mb, 1),
        "rss_peak_after_warmup_mb": round(peak_after_warm, 1),
        "flat": flat,
        "db_mb": round(db_mb, 1),
        "server_log_errors": len(errors),
        "timeline": timeline,
    }
    print("\nsoak results")
    print_table(
        [
            ("events", f"{acked:,} acknowledged in {load_s:.0f} s ({acked / load_s:,.0f}/s)"),
            ("stored / succeeded", f"{stored:,} events, {succeeded:,} runs succeeded"),
            (
                "drain after load",
                f"{drain_s:.0f} s"
                + (f" — NOT drained, {pending:,} runs pending" if pending else ""),
            ),
            ("RSS idle", f"{idle_mb:.1f} MB"),
            ("RSS after warm-up", f"{warm_mb:.1f} MB (after {warm_events:,} events)"),
            ("RSS end of load", f"{end_load_mb:.1f} MB"),
            ("RSS after drain", f"{drained_mb:.1f} MB"),
            (
                "RSS peak",
                f"{rss.peak_mb:.1f} MB  [target <= {TARGET_MB} MB: {'PASS' if under else 'MISS'}]",
            ),
            ("flat", f"{'yes' if flat else 'NO'} (allowance {allowance:.0f} MB over warm-up)"),
            ("database", f"{db_mb:.0f} MB"),
            ("server log errors", str(len(errors))),
        ]
    )
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0 if flat and under and stored >= acked and succeeded == stored else 1


if __name__ == "__main__":
    raise SystemExit(run_main(main))
