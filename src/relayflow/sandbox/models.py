"""The sandbox's stored things as Python objects, and their SQLite rows."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

# Record field -> column, in the order clients pick an identity (identity || FBID || GPID ||
# objectId); the sandbox resolves a record to a profile in the same order.
ID_COLUMNS = (
    ("identity", "identity"),
    ("FBID", "fbid"),
    ("GPID", "gpid"),
    ("objectId", "object_id"),
)
PROFILE_COLUMNS = (
    "pk, object_id, identity, fbid, gpid, email, name, data, tokens, created_at, updated_at"
)


@dataclass
class Profile:
    """A stored profile; `data` is its profileData."""

    pk: int | None
    object_id: str
    identity: str | None = None
    fbid: str | None = None
    gpid: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    created_at: int = 0
    updated_at: int = 0
    dirty: bool = False

    @property
    def email(self) -> str | None:
        value = self.data.get("Email")
        return value if isinstance(value, str) else None

    @property
    def name(self) -> str | None:
        value = self.data.get("Name")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Event:
    """A stored event with the pk of its profile."""

    pk: int
    profile_pk: int
    name: str
    ts: int
    data: dict[str, Any]


@dataclass(frozen=True)
class EventSummary:
    """How often a profile raised one event, and when first and last."""

    name: str
    count: int
    first_seen: int
    last_seen: int


@dataclass(frozen=True)
class Message:
    """A message the sandbox 'sent' to a profile (it delivers nothing, it records)."""

    pk: int
    profile_pk: int
    channel: str  # push, sms, ... or "external trigger"
    campaign_id: int | None
    content: Any  # the ExternalTrigger key-values, or the campaign's content
    sent_at: int


def new_object_id() -> str:
    """A CleverTap-style ID for a profile created by the API: 32 hex digits after "-".

    The first 16 grow with time, so new IDs go to the end of the object_id index instead
    of all over it (a million-profile import stays fast); the rest are random.
    """
    return f"-{time.time_ns() // 1000:016x}{secrets.token_hex(8)}"


def profile_values(p: Profile) -> tuple[Any, ...]:
    """The profile's columns from identity to tokens, as the INSERT and UPDATE list them."""
    return (
        p.identity,
        p.fbid,
        p.gpid,
        p.email,
        p.name,
        orjson.dumps(p.data),
        orjson.dumps(p.tokens),
    )


def profile_from_row(row: tuple[Any, ...]) -> Profile:
    pk, object_id, identity, fbid, gpid, _email, _name, data, tokens, created, updated = row
    return Profile(
        pk=pk,
        object_id=object_id,
        identity=identity,
        fbid=fbid,
        gpid=gpid,
        data=orjson.loads(data),
        tokens=orjson.loads(tokens),
        created_at=created,
        updated_at=updated,
    )


def event_from_row(row: tuple[Any, ...]) -> Event:
    pk, profile_pk, name, ts, data = row
    return Event(pk=pk, profile_pk=profile_pk, name=name, ts=ts, data=orjson.loads(data))


def message_from_row(row: tuple[Any, ...]) -> Message:
    pk, profile_pk, channel, campaign_id, content, sent_at = row
    return Message(pk, profile_pk, channel, campaign_id, orjson.loads(content), sent_at)
