"""Stored profiles and events in the shapes CleverTap's read APIs answer with."""

from __future__ import annotations

from typing import Any

from relayflow.sandbox.models import Event, EventSummary, Profile
from relayflow.sandbox.web import compact_ts

_TOKEN_PLATFORMS = {"apns": "iOS", "wns": "Windows", "mpns": "Windows"}


def profile_record(profile: Profile, events: list[EventSummary]) -> dict[str, Any]:
    """A profile as profile.json and profiles.json return it."""
    record: dict[str, Any] = {}
    for key, value in (
        ("identity", profile.identity),
        ("email", profile.email),
        ("name", profile.name),
        ("FBID", profile.fbid),
        ("GPID", profile.gpid),
    ):
        if value is not None:
            record[key] = value
    record["profileData"] = profile.data
    record["events"] = {
        e.name: {"count": e.count, "first_seen": e.first_seen, "last_seen": e.last_seen}
        for e in events
    }
    record["platformInfo"] = platform_info(profile)
    return record


def platform_info(profile: Profile) -> list[dict[str, Any]]:
    info: list[dict[str, Any]] = [{"platform": "API", "objectId": profile.object_id}]
    for token in profile.tokens:
        info.append(
            {
                "platform": _TOKEN_PLATFORMS.get(token["type"], "Android"),
                "objectId": profile.object_id,
                "push_token": token["id"],
                "push_type": token["type"],
            }
        )
    return info


def event_record(event: Event, profile: Profile | None) -> dict[str, Any]:
    """An event as events.json returns it, with `ts` as yyyyMMddHHmmss."""
    who: dict[str, Any] = {}
    if profile is not None:
        who = {"objectId": profile.object_id, "platform": "API", "id": profile.pk}
        for key, value in (
            ("identity", profile.identity),
            ("email", profile.email),
            ("name", profile.name),
        ):
            if value is not None:
                who[key] = value
        who["profileData"] = profile.data
    return {
        "profile": who,
        "ts": compact_ts(event.ts),
        "event_props": event.data,
        "session_props": {},
    }
