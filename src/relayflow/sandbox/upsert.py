"""Apply valid upload records: upsert profiles, insert events, add device tokens.

Runs inside the store's transaction. The profiles a request names are loaded in a few
queries, changed in memory in record order, then written back with executemany.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from relayflow.sandbox.models import (
    ID_COLUMNS,
    PROFILE_COLUMNS,
    Profile,
    new_object_id,
    profile_from_row,
    profile_values,
)
from relayflow.sandbox.profile_ops import apply_profile_data

_CHUNK = 500
_EventRow = tuple[Profile, str, int, bytes]


def apply_upload(
    conn: sqlite3.Connection, account: str, records: list[dict[str, Any]], now: int
) -> None:
    """Upsert profiles and insert events for valid records; the caller commits."""
    index = _ProfileIndex(_load_profiles(conn, account, records))
    events: list[_EventRow] = []
    for record in records:
        profile = index.resolve(record) or index.create(record, now)
        index.attach(profile, record)
        ts = record.get("ts") or now
        kind = record["type"]
        if kind == "profile":
            profile.data = apply_profile_data(profile.data, record["profileData"])
        elif kind == "event":
            events.append((profile, record["evtName"], ts, orjson.dumps(record["evtData"])))
        else:
            _add_token(profile, record["tokenData"])
        profile.updated_at = max(profile.updated_at, ts)
        profile.dirty = True
    _write(conn, account, index.profiles(), events)


def _load_profiles(
    conn: sqlite3.Connection, account: str, records: list[dict[str, Any]]
) -> list[Profile]:
    wanted: dict[str, set[str]] = {column: set() for _, column in ID_COLUMNS}
    for record in records:
        for name, column in ID_COLUMNS:
            value = record.get(name)
            if value is not None and value != "":
                wanted[column].add(str(value))
    found: dict[int, Profile] = {}
    for column, values in wanted.items():
        for chunk in _chunks(sorted(values)):
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT {PROFILE_COLUMNS} FROM profiles "
                f"WHERE account = ? AND {column} IN ({marks})",
                (account, *chunk),
            )
            for row in rows:
                found.setdefault(row[0], profile_from_row(row))
    return list(found.values())


def _write(
    conn: sqlite3.Connection, account: str, profiles: list[Profile], events: list[_EventRow]
) -> None:
    created = [p for p in profiles if p.pk is None]
    changed = [p for p in profiles if p.pk is not None and p.dirty]
    if created:
        # The store's lock makes this the only writer, so pks can be handed out up front.
        (top,) = conn.execute("SELECT coalesce(max(pk), 0) FROM profiles").fetchone()
        for offset, profile in enumerate(created, start=1):
            profile.pk = top + offset
        conn.executemany(
            "INSERT INTO profiles (pk, account, object_id, identity, fbid, gpid, email, name,"
            " data, tokens, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (p.pk, account, p.object_id, *profile_values(p), p.created_at, p.updated_at)
                for p in created
            ],
        )
    if changed:
        conn.executemany(
            "UPDATE profiles SET object_id = ?, identity = ?, fbid = ?, gpid = ?, email = ?,"
            " name = ?, data = ?, tokens = ?, updated_at = ? WHERE pk = ?",
            [(p.object_id, *profile_values(p), p.updated_at, p.pk) for p in changed],
        )
    if events:
        conn.executemany(
            "INSERT INTO events (account, profile_pk, name, ts, data) VALUES (?,?,?,?,?)",
            [(account, p.pk, name, ts, data) for p, name, ts, data in events],
        )


class _ProfileIndex:
    """The profiles one upload touches, found by any of their identity fields."""

    def __init__(self, loaded: Iterable[Profile]) -> None:
        self._by: dict[str, dict[str, Profile]] = {column: {} for _, column in ID_COLUMNS}
        self._all: list[Profile] = []
        for profile in loaded:
            self._add(profile)

    def _add(self, profile: Profile) -> None:
        self._all.append(profile)
        for _, column in ID_COLUMNS:
            value = getattr(profile, column)
            if value is not None:
                self._by[column].setdefault(value, profile)

    def resolve(self, record: dict[str, Any]) -> Profile | None:
        for name, column in ID_COLUMNS:
            value = record.get(name)
            if value is not None and value != "":
                profile = self._by[column].get(str(value))
                if profile is not None:
                    return profile
        return None

    def create(self, record: dict[str, Any], now: int) -> Profile:
        object_id = record.get("objectId") or new_object_id()
        ts = record.get("ts") or now
        profile = Profile(pk=None, object_id=object_id, created_at=ts, updated_at=ts)
        self._add(profile)
        return profile

    def attach(self, profile: Profile, record: dict[str, Any]) -> None:
        """Give the profile the record's other identity fields that no other profile holds."""
        for name, column in ID_COLUMNS:
            value = record.get(name)
            if value is None or value == "" or getattr(profile, column) is not None:
                continue
            if str(value) not in self._by[column]:
                setattr(profile, column, str(value))
                self._by[column][str(value)] = profile

    def profiles(self) -> list[Profile]:
        return self._all


def _add_token(profile: Profile, token: dict[str, Any]) -> None:
    tokens = [t for t in profile.tokens if t.get("id") != token["id"]]
    profile.tokens = [*tokens, {"id": token["id"], "type": token["type"]}]


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
