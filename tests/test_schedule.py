"""Schedule triggers: ticks in a timezone, never twice, missed ticks reported not replayed."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from conftest import Relayflow
from relayflow.model.workflow import ScheduleTrigger
from relayflow.triggers.schedule import due, next_ticks

EVERY_SECOND = """\
name: ticker
trigger:
  schedule: {interval: 1s}
steps:
  - name: note
    uses: util.echo
    with: {value: "{{ steps.trigger.event.tick }}"}
"""


def test_cron_ticks_follow_the_timezone():
    trigger = ScheduleTrigger(cron="0 9 * * *", timezone="Europe/Berlin")
    start = datetime(2026, 3, 27, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    ticks = [datetime.fromtimestamp(t, ZoneInfo("UTC")).hour for t in next_ticks(trigger, start, 3)]
    # 09:00 in Berlin is 08:00 UTC in winter time and 07:00 UTC from March 29, 2026.
    assert ticks == [8, 7, 7]


def test_missed_ticks_are_counted_and_only_the_latest_fires():
    trigger = ScheduleTrigger(interval=60)
    tick, missed = due(trigger, last=0, now=600.5)
    assert tick == 600 and missed == 9
    assert due(trigger, last=600, now=650) == (None, 0)


def test_interval_schedule_runs_once_per_tick(relayflow: Relayflow):
    relayflow.deploy_text("ticker", EVERY_SECOND)
    relayflow.start()
    runs = relayflow.wait_runs(3, timeout=20)
    ticks = [relayflow.inspect(r["id"])["event"]["tick"] for r in runs]
    assert len(set(ticks)) == len(ticks)
    assert all(t == int(t) for t in ticks)


def test_two_schedulers_never_fire_a_tick_twice(pg_url, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    rf = Relayflow(home, pg_url)
    try:
        rf.deploy_text("ticker", EVERY_SECOND)
        rf.spawn("scheduler")
        rf.spawn("scheduler")
        rf.start("up")
        time.sleep(4)
        runs = rf.wait_runs(3, timeout=20)
        ticks = [rf.inspect(r["id"])["event"]["tick"] for r in rf.runs()]
        assert len(ticks) == len(set(ticks)), f"a tick fired twice: {sorted(ticks)}"
        assert len(runs) >= 3
    finally:
        rf.stop_all()


def test_ticks_missed_while_stopped_are_reported(sqlite_relayflow: Relayflow):
    rf = sqlite_relayflow
    rf.deploy_text("ticker", EVERY_SECOND)
    time.sleep(3.2)
    rf.start()
    first = rf.wait_runs(1, timeout=20)[-1]
    event = rf.inspect(first["id"])["event"]
    assert event["missed_ticks"] >= 2
    assert "missed" in rf.output() and "scheduled ticks" in rf.output()
