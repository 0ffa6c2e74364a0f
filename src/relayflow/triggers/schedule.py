"""Schedule triggers: cron or interval, in a timezone; never two runs for one tick.

Each fired tick is a row keyed by (workflow, tick) committed with its event and run, so
two schedulers racing for the same tick cannot both fire it. Ticks missed while nothing
was running are counted and reported on the next run's event (`missed_ticks`) and in the
log; they are not replayed in a burst.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from relayflow.engine.catalog import Catalog
from relayflow.model.triggers import ScheduleTrigger
from relayflow.store.database import Database
from relayflow.store.schedule import last_tick

log = logging.getLogger(__name__)

MAX_COUNTED_MISSES = 100_000


def next_tick(trigger: ScheduleTrigger, after: float) -> float:
    """The first tick strictly after `after` (epoch seconds)."""
    if trigger.interval is not None:
        return (int(after // trigger.interval) + 1) * trigger.interval
    zone = ZoneInfo(trigger.timezone)
    start = datetime.fromtimestamp(after, zone)
    return float(croniter(trigger.cron, start).get_next(float))


def next_ticks(trigger: ScheduleTrigger, after: float, count: int) -> list[float]:
    ticks, current = [], after
    for _ in range(count):
        current = next_tick(trigger, current)
        ticks.append(current)
    return ticks


def due(trigger: ScheduleTrigger, last: float, now: float) -> tuple[float | None, int]:
    """The latest tick in (last, now] and how many earlier ticks in that span were missed."""
    tick = next_tick(trigger, last)
    if tick > now:
        return None, 0
    missed = 0
    while True:
        following = next_tick(trigger, tick)
        if following > now or missed >= MAX_COUNTED_MISSES:
            return tick, missed
        tick, missed = following, missed + 1


def tick_event(trigger: ScheduleTrigger, tick: float, missed: int) -> dict:
    return {
        "timestamp": datetime.fromtimestamp(tick, UTC).isoformat(),
        "tick": tick,
        "cron": trigger.cron,
        "interval_seconds": trigger.interval,
        "timezone_configured": trigger.timezone,
        "missed_ticks": missed,
    }


FireTick = Callable[[str, float, int, dict], Awaitable[bool]]


class Scheduler:
    """Fires due ticks of every active scheduled workflow through `fire`."""

    def __init__(self, db: Database, catalog: Catalog, fire: FireTick) -> None:
        self.db = db
        self.catalog = catalog
        self.fire = fire
        self._last: dict[str, float] = {}
        self._stopping = False

    def _last_tick(self, workflow_id: str, deployed_at: float) -> float:
        if workflow_id not in self._last:
            fired = last_tick(self.db, workflow_id)
            self._last[workflow_id] = fired if fired is not None else deployed_at
        return self._last[workflow_id]

    async def run(self) -> None:
        while not self._stopping:
            await self.tick_once()
            await asyncio.sleep(0.5)

    async def tick_once(self) -> None:
        now = time.time()
        for row in self.catalog.deployed():
            if not row.active:
                continue
            try:
                compiled = self.catalog.compiled(row.id, row.current_version)
            except Exception:  # noqa: BLE001
                log.exception("cannot load workflow %s", row.name)
                continue
            trigger = compiled.workflow.trigger.schedule
            if trigger is None:
                continue
            last = self._last_tick(row.id, row.updated_at)
            tick, missed = due(trigger, last, now)
            if tick is None:
                continue
            if missed:
                log.warning(
                    "workflow %s missed %d scheduled ticks while relayflow was not running;"
                    " running the latest one only",
                    row.name,
                    missed,
                )
            await self.fire(row.id, tick, missed, tick_event(trigger, tick, missed))
            self._last[row.id] = tick

    def stop(self) -> None:
        self._stopping = True
