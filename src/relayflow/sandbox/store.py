"""The sandbox's SQLite storage: profiles, events, campaign targets and sent messages.

One connection guarded by a lock: the sandbox is a single process and SQLite has one
writer anyway. Each upload is one transaction of batched statements.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from relayflow.sandbox.models import (
    PROFILE_COLUMNS,
    Event,
    EventSummary,
    Message,
    Profile,
    event_from_row,
    message_from_row,
    profile_from_row,
)
from relayflow.sandbox.upsert import apply_upload

SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    pk INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    object_id TEXT NOT NULL,
    identity TEXT,
    fbid TEXT,
    gpid TEXT,
    email TEXT,
    name TEXT,
    data TEXT NOT NULL,
    tokens TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS profiles_object_id ON profiles (account, object_id);
CREATE UNIQUE INDEX IF NOT EXISTS profiles_identity ON profiles (account, identity);
CREATE INDEX IF NOT EXISTS profiles_fbid ON profiles (account, fbid) WHERE fbid IS NOT NULL;
CREATE INDEX IF NOT EXISTS profiles_gpid ON profiles (account, gpid) WHERE gpid IS NOT NULL;
CREATE INDEX IF NOT EXISTS profiles_email ON profiles (account, email);
CREATE TABLE IF NOT EXISTS events (
    pk INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    profile_pk INTEGER NOT NULL,
    name TEXT NOT NULL,
    ts INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_name ON events (account, name, ts);
CREATE INDEX IF NOT EXISTS events_by_profile ON events (profile_pk, ts);
CREATE TABLE IF NOT EXISTS targets (
    account TEXT NOT NULL,
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    estimate INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    scheduled_at INTEGER NOT NULL,
    PRIMARY KEY (account, id)
);
CREATE TABLE IF NOT EXISTS messages (
    pk INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    profile_pk INTEGER NOT NULL,
    channel TEXT NOT NULL,
    campaign_id INTEGER,
    content TEXT NOT NULL,
    sent_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_profile ON messages (profile_pk, sent_at);
"""

_CHUNK = 500


class SandboxStore:
    """Profiles, events and targets in one SQLite file; safe to call from any thread."""

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # The sandbox is test data: durability across power loss is not worth the fsyncs.
            self._conn.execute("PRAGMA synchronous=OFF")
            self._conn.execute("PRAGMA cache_size=-65536")  # 64 MB: big uploads stay in memory
            self._conn.execute("PRAGMA wal_autocheckpoint=20000")
            self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def wipe(self, account: str | None = None) -> None:
        """Delete all data, or one account's."""
        with self._lock, self._conn:
            for table in ("events", "profiles", "targets", "messages"):
                if account is None:
                    self._conn.execute(f"DELETE FROM {table}")
                else:
                    self._conn.execute(f"DELETE FROM {table} WHERE account = ?", (account,))

    # -- upload ---------------------------------------------------------------------------

    def apply_upload(self, account: str, records: list[dict[str, Any]], now: int) -> None:
        """Upsert profiles and insert events for valid upload records, in one transaction."""
        with self._lock, self._conn:
            apply_upload(self._conn, account, records, now)

    # -- profiles -------------------------------------------------------------------------

    def find_profile(self, account: str, column: str, value: str) -> Profile | None:
        """The profile whose `column` (identity, email, object_id, fbid, gpid) is `value`."""
        if column not in {"identity", "email", "object_id", "fbid", "gpid"}:
            raise ValueError(f"cannot look profiles up by {column!r}")
        with self._lock:
            row = self._conn.execute(
                f"SELECT {PROFILE_COLUMNS} FROM profiles WHERE account = ? AND {column} = ?"
                " ORDER BY updated_at DESC LIMIT 1",
                (account, value),
            ).fetchone()
        return profile_from_row(row) if row else None

    def profiles_by(self, account: str, column: str, values: list[str]) -> dict[str, Profile]:
        """The profiles whose `column` is one of `values`, by that value."""
        if column not in {"identity", "email", "object_id", "fbid", "gpid"}:
            raise ValueError(f"cannot look profiles up by {column!r}")
        found: dict[str, Profile] = {}
        with self._lock:
            for chunk in _chunks(sorted(set(values))):
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT {PROFILE_COLUMNS}, {column} FROM profiles"
                    f" WHERE account = ? AND {column} IN ({marks}) ORDER BY updated_at",
                    (account, *chunk),
                )
                for row in rows:
                    found[row[-1]] = profile_from_row(row[:-1])
        return found

    def profiles_by_pks(self, pks: list[int]) -> list[Profile]:
        """Profiles in the order of `pks` (missing ones, e.g. deleted since, are left out)."""
        found: dict[int, Profile] = {}
        with self._lock:
            for chunk in _chunks(pks):
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT {PROFILE_COLUMNS} FROM profiles WHERE pk IN ({marks})", chunk
                )
                found.update((row[0], profile_from_row(row)) for row in rows)
        return [found[pk] for pk in pks if pk in found]

    def event_summaries(self, profile_pks: list[int]) -> dict[int, list[EventSummary]]:
        """Per profile pk: count, first and last ts of each event name."""
        result: dict[int, list[EventSummary]] = {pk: [] for pk in profile_pks}
        with self._lock:
            for chunk in _chunks(profile_pks):
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    "SELECT profile_pk, name, count(*), min(ts), max(ts) FROM events"
                    f" WHERE profile_pk IN ({marks}) GROUP BY profile_pk, name ORDER BY name",
                    chunk,
                )
                for pk, name, count, first, last in rows:
                    result[pk].append(EventSummary(name, count, first, last))
        return result

    def delete_profiles(self, account: str, column: str, values: list[str]) -> int:
        """Delete profiles by identity or object_id, with their events; return how many."""
        if column not in {"identity", "object_id"}:
            raise ValueError(f"cannot delete profiles by {column!r}")
        with self._lock, self._conn:
            marks = ",".join("?" * len(values))
            pks = [
                pk
                for (pk,) in self._conn.execute(
                    f"SELECT pk FROM profiles WHERE account = ? AND {column} IN ({marks})",
                    (account, *values),
                )
            ]
            self._conn.executemany("DELETE FROM events WHERE profile_pk = ?", [(p,) for p in pks])
            self._conn.executemany("DELETE FROM messages WHERE profile_pk = ?", [(p,) for p in pks])
            self._conn.executemany("DELETE FROM profiles WHERE pk = ?", [(p,) for p in pks])
        return len(pks)

    def profile_pks(
        self, account: str, event_name: str | None = None, start: int = 0, end: int = 2**62
    ) -> list[int]:
        """Profiles that raised `event_name` between start and end (all profiles without it)."""
        with self._lock:
            if event_name is None:
                rows = self._conn.execute(
                    "SELECT pk FROM profiles WHERE account = ? ORDER BY pk", (account,)
                )
            else:
                rows = self._conn.execute(
                    "SELECT DISTINCT profile_pk FROM events WHERE account = ? AND name = ?"
                    " AND ts BETWEEN ? AND ? ORDER BY profile_pk",
                    (account, event_name, start, end),
                )
            return [pk for (pk,) in rows]

    def search_profiles(self, account: str, text: str, limit: int, offset: int) -> list[Profile]:
        """Profiles whose identity or email contains `text`, most recently updated first."""
        pattern = f"%{text}%"
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {PROFILE_COLUMNS} FROM profiles WHERE account = ?"
                " AND (? = '' OR identity LIKE ? OR email LIKE ? OR object_id LIKE ?)"
                " ORDER BY updated_at DESC, pk DESC LIMIT ? OFFSET ?",
                (account, text, pattern, pattern, pattern, limit, offset),
            ).fetchall()
        return [profile_from_row(row) for row in rows]

    def count_profiles(self, account: str) -> int:
        with self._lock:
            (count,) = self._conn.execute(
                "SELECT count(*) FROM profiles WHERE account = ?", (account,)
            ).fetchone()
        return count

    # -- events ---------------------------------------------------------------------------

    def event_pks(self, account: str, event_name: str, start: int, end: int) -> list[int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT pk FROM events WHERE account = ? AND name = ? AND ts BETWEEN ? AND ?"
                " ORDER BY ts, pk",
                (account, event_name, start, end),
            )
            return [pk for (pk,) in rows]

    def events_by_pks(self, pks: list[int]) -> list[Event]:
        found: dict[int, Event] = {}
        with self._lock:
            for chunk in _chunks(pks):
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT pk, profile_pk, name, ts, data FROM events WHERE pk IN ({marks})",
                    chunk,
                )
                found.update((row[0], event_from_row(row)) for row in rows)
        return [found[pk] for pk in pks if pk in found]

    def events_of_profile(self, profile_pk: int, limit: int) -> list[Event]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT pk, profile_pk, name, ts, data FROM events WHERE profile_pk = ?"
                " ORDER BY ts DESC, pk DESC LIMIT ?",
                (profile_pk, limit),
            ).fetchall()
        return [event_from_row(row) for row in rows]

    def count_events(self, account: str, event_name: str, start: int, end: int) -> int:
        with self._lock:
            (count,) = self._conn.execute(
                "SELECT count(*) FROM events WHERE account = ? AND name = ? AND ts BETWEEN ? AND ?",
                (account, event_name, start, end),
            ).fetchone()
        return count

    def count_event_profiles(self, account: str, event_name: str, start: int, end: int) -> int:
        with self._lock:
            (count,) = self._conn.execute(
                "SELECT count(DISTINCT profile_pk) FROM events"
                " WHERE account = ? AND name = ? AND ts BETWEEN ? AND ?",
                (account, event_name, start, end),
            ).fetchone()
        return count

    def daily_event_counts(self, account: str, since: int) -> list[tuple[str, str, int]]:
        """(event name, UTC day YYYY-MM-DD, count) for events since the epoch second `since`."""
        with self._lock:
            return self._conn.execute(
                "SELECT name, date(ts, 'unixepoch') AS day, count(*) FROM events"
                " WHERE account = ? AND ts >= ? GROUP BY name, day ORDER BY name, day",
                (account, since),
            ).fetchall()

    def last_event_ts(self, account: str) -> int | None:
        with self._lock:
            (ts,) = self._conn.execute(
                "SELECT max(ts) FROM events WHERE account = ?", (account,)
            ).fetchone()
        return ts

    # -- messages -----------------------------------------------------------------------

    def record_messages(
        self, account: str, messages: list[tuple[int, str, int | None, Any]]
    ) -> None:
        """Store sent messages: (profile pk, channel, campaign id, content) each, sent now."""
        now = int(time.time())
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT INTO messages (account, profile_pk, channel, campaign_id, content,"
                " sent_at) VALUES (?,?,?,?,?,?)",
                [(account, pk, ch, cid, orjson.dumps(c), now) for pk, ch, cid, c in messages],
            )

    def messages_of_profile(self, profile_pk: int, limit: int) -> list[Message]:
        """A profile's messages, newest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT pk, profile_pk, channel, campaign_id, content, sent_at FROM messages"
                " WHERE profile_pk = ? ORDER BY sent_at DESC, pk DESC LIMIT ?",
                (profile_pk, limit),
            ).fetchall()
        return [message_from_row(row) for row in rows]

    def recent_messages(
        self, account: str, limit: int, profile_pk: int | None = None
    ) -> list[dict[str, Any]]:
        """An account's (or one profile's) messages, newest first, with who got each."""
        where = "m.account = ?" + (" AND m.profile_pk = ?" if profile_pk is not None else "")
        params: tuple[Any, ...] = (account, profile_pk) if profile_pk is not None else (account,)
        with self._lock:
            rows = self._conn.execute(
                "SELECT m.channel, m.campaign_id, m.content, m.sent_at, p.identity, p.email,"
                " p.object_id FROM messages m JOIN profiles p ON p.pk = m.profile_pk"
                f" WHERE {where} ORDER BY m.sent_at DESC, m.pk DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        keys = ("channel", "campaign_id", "content", "sent_at", "identity", "email", "objectId")
        found = [dict(zip(keys, row, strict=True)) for row in rows]
        for message in found:
            message["content"] = orjson.loads(message["content"])
        return found

    def message_counts(self, profile_pks: list[int]) -> dict[int, int]:
        """How many messages each profile received."""
        counts: dict[int, int] = {}
        with self._lock:
            for chunk in _chunks(profile_pks):
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    "SELECT profile_pk, count(*) FROM messages"
                    f" WHERE profile_pk IN ({marks}) GROUP BY profile_pk",
                    chunk,
                )
                counts.update(rows)
        return counts

    # -- targets (campaigns) ----------------------------------------------------------------

    def create_target(
        self, account: str, name: str, payload: dict, estimate: int, now: int, scheduled_at: int
    ) -> int:
        with self._lock, self._conn:
            (top,) = self._conn.execute(
                "SELECT coalesce(max(id), 0) FROM targets WHERE account = ?", (account,)
            ).fetchone()
            # CleverTap target ids are large integers; start high so they look the part.
            target_id = max(top, 1_000_000_000) + 1
            self._conn.execute(
                "INSERT INTO targets VALUES (?,?,?,?,?,?,?,?)",
                (
                    account,
                    target_id,
                    name,
                    "scheduled",
                    orjson.dumps(payload),
                    estimate,
                    now,
                    scheduled_at,
                ),
            )
        return target_id

    def targets(self, account: str, start: int = 0, end: int = 2**62) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, name, status, payload, estimate, created_at, scheduled_at"
                " FROM targets WHERE account = ? AND created_at BETWEEN ? AND ? ORDER BY id",
                (account, start, end),
            ).fetchall()
        return [_target_from_row(row) for row in rows]

    def target(self, account: str, target_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT id, name, status, payload, estimate, created_at, scheduled_at"
                " FROM targets WHERE account = ? AND id = ?",
                (account, target_id),
            ).fetchone()
        return _target_from_row(row) if row else None

    def set_target_status(self, account: str, target_id: int, status: str) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE targets SET status = ? WHERE account = ? AND id = ?",
                (status, account, target_id),
            )


def _target_from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    target_id, name, status, payload, estimate, created_at, scheduled_at = row
    return {
        "id": target_id,
        "name": name,
        "status": status,
        "payload": orjson.loads(payload),
        "estimate": estimate,
        "created_at": created_at,
        "scheduled_at": scheduled_at,
    }


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
