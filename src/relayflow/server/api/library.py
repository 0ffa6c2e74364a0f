"""`/api/v1/actions`, `/sources` and `/schedule-preview`: what the builder offers and checks."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException
from pydantic import ValidationError

from relayflow.model.triggers import ScheduleTrigger
from relayflow.sdk import discover
from relayflow.triggers.schedule import next_ticks

router = APIRouter(prefix="/api/v1", tags=["library"])


@router.get("/actions", summary="The action library; q searches titles, apps and keys")
def actions(q: str = "") -> list[dict[str, Any]]:
    return [a.schema() for a in discover().search_actions(q)]


@router.get("/sources", summary="Sources apps provide; q searches titles, apps and keys")
def sources(q: str = "") -> list[dict[str, Any]]:
    return [s.schema() for s in discover().search_sources(q)]


@router.get("/schedule-preview", summary="The next times a schedule fires")
def schedule_preview(
    cron: str = "", interval: str = "", timezone: str = "UTC", count: int = 5
) -> dict[str, Any]:
    """The next `count` ticks of a cron or interval schedule, as ISO times in its timezone
    and as epoch seconds; 422 says what is wrong with the schedule."""
    times = preview(cron, interval, timezone, min(max(count, 1), 50))
    if isinstance(times, str):
        raise HTTPException(422, times)
    return times


def preview(cron: str, interval: str, timezone: str, count: int = 5) -> dict[str, Any] | str:
    """The next ticks of a schedule, or what is wrong with it (shared with the UI)."""
    try:
        trigger = ScheduleTrigger.model_validate(
            {"cron": cron or None, "interval": interval or None, "timezone": timezone or "UTC"}
        )
    except ValidationError as exc:
        return "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
    zone = ZoneInfo(trigger.timezone)
    ticks = next_ticks(trigger, time.time(), count)
    return {
        "timezone": trigger.timezone,
        "ticks": ticks,
        "times": [datetime.fromtimestamp(t, zone).isoformat() for t in ticks],
        "shown": [
            datetime.fromtimestamp(t, zone).strftime("%a %Y-%m-%d %H:%M:%S %Z") for t in ticks
        ],
    }
