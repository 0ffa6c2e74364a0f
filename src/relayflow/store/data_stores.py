"""Data stores: named key-value stores shared across workflows, in the platform's database.

Values are any JSON. A key may expire (a TTL in seconds): once expired it is invisible,
and its row is deleted lazily. Besides get/set/delete and listing keys by prefix, there
are the atomic operations Pipedream lacks: `incr`, `set_if_absent`, `compare_and_set`.

Every write is a `Batch` for the process's Writer, so writes from many concurrent runs
share commits. An atomic operation reads, decides and writes inside its batch's `then`:
on SQLite the writer's BEGIN IMMEDIATE transaction holds the database's write lock; on
PostgreSQL the key's row is first materialised (INSERT … ON CONFLICT DO NOTHING, as an
already-expired placeholder) and then locked (SELECT … FOR UPDATE). Either way no update
is lost, across any number of processes and hosts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from relayflow.sdk import DataStoreError
from relayflow.store.database import Database
from relayflow.store.writer import Batch

_COLUMNS = "store, key, value, expires_at, updated_at"
_VISIBLE = "(expires_at IS NULL OR expires_at > ?)"
UPSERT = (
    f"INSERT INTO data_store_entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (store, key) DO UPDATE SET value = excluded.value,"
    " expires_at = excluded.expires_at, updated_at = excluded.updated_at"
)
# An already-expired row (invisible), so that an absent key has a row to lock.
PLACEHOLDER = (
    f"INSERT INTO data_store_entries ({_COLUMNS}) VALUES (?, ?, 'null', 0, ?)"
    " ON CONFLICT (store, key) DO NOTHING"
)
CURRENT = "SELECT value, expires_at FROM data_store_entries WHERE store = ? AND key = ?"
UPDATE = (
    "UPDATE data_store_entries SET value = ?, expires_at = ?, updated_at = ?"
    " WHERE store = ? AND key = ?"
)
DELETE = "DELETE FROM data_store_entries WHERE store = ? AND key = ?"
DELETE_VISIBLE = f"{DELETE} AND {_VISIBLE}"
SET_TTL = (
    "UPDATE data_store_entries SET expires_at = ?, updated_at = ?"
    f" WHERE store = ? AND key = ? AND {_VISIBLE}"
)
COUNT_VISIBLE = f"SELECT COUNT(*) FROM data_store_entries WHERE store = ? AND {_VISIBLE}"
CLEAR = "DELETE FROM data_store_entries WHERE store = ?"
PURGE = "DELETE FROM data_store_entries WHERE store = ? AND expires_at <= ?"
ENTRY = (
    "SELECT key, value, expires_at, updated_at FROM data_store_entries"
    f" WHERE store = ? AND key = ? AND {_VISIBLE}"
)
ENTRIES = (
    f"SELECT key, {{columns}} FROM data_store_entries WHERE store = ? AND {_VISIBLE}{{prefix}}"
)
BY_PREFIX = " AND substr(key, 1, CAST(? AS INTEGER)) = ?"
STORES = (
    "SELECT store, COUNT(*), MAX(updated_at) FROM data_store_entries"
    f" WHERE {_VISIBLE} GROUP BY store"
)


@dataclass(frozen=True)
class Entry:
    key: str
    value: Any
    expires_at: float | None
    updated_at: float

    def public(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "expires_at": self.expires_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class StoreSummary:
    name: str
    keys: int
    updated_at: float

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "keys": self.keys, "updated_at": self.updated_at}


# Operations as plans: a read (a function of the database) or a write (a Batch) -------------


@dataclass
class Read:
    fn: Callable[[Database], Any]


@dataclass
class Write:
    store: str
    batch: Batch


class Refused:
    """Returned from inside a transaction instead of raising, so that other batches
    grouped into the same commit are not rolled back."""

    def __init__(self, message: str) -> None:
        self.message = message


def _plan_get(store: str, key: str, default: Any = None) -> Read:
    def read(db: Database) -> Any:
        entry = _entry(db, store, key)
        return default if entry is None else entry.value

    return Read(read)


def _plan_lookup(store: str, key: str) -> Read:
    def read(db: Database) -> list[Any]:
        entry = _entry(db, store, key)
        return [False, None] if entry is None else [True, entry.value]

    return Read(read)


def _plan_entry(store: str, key: str) -> Read:
    return Read(lambda db: _entry(db, store, key))


def _plan_keys(store: str, prefix: str = "") -> Read:
    return Read(lambda db: [row[0] for row in _rows(db, store, prefix, "expires_at")])


def _plan_items(store: str, prefix: str = "") -> Read:
    return Read(lambda db: [[k, orjson.loads(v)] for k, v in _rows(db, store, prefix, "value")])


def _plan_entries(store: str, prefix: str = "", values: bool = True) -> Read:
    columns = "value, expires_at, updated_at" if values else "'null', expires_at, updated_at"

    def read(db: Database) -> list[Entry]:
        return [
            Entry(key, orjson.loads(value), expires_at, updated_at)
            for key, value, expires_at, updated_at in _rows(db, store, prefix, columns)
        ]

    return Read(read)


def _plan_set(store: str, key: str, value: Any, ttl: float | None = None) -> Write:
    now = time.time()
    row = (store, key, _dumps(value), _expiry(ttl, now), now)
    return Write(store, Batch([(UPSERT, row)]))


def _plan_delete(store: str, key: str) -> Write:
    def then(cur: Any, db: Database) -> bool:
        cur.execute(db.sql(DELETE_VISIBLE), (store, key, time.time()))
        deleted = cur.rowcount > 0
        cur.execute(db.sql(DELETE), (store, key))  # an expired remnant, if any
        return deleted

    return Write(store, Batch(then=then))


def _plan_clear(store: str) -> Write:
    def then(cur: Any, db: Database) -> int:
        cur.execute(db.sql(COUNT_VISIBLE), (store, time.time()))
        (count,) = cur.fetchone()
        cur.execute(db.sql(CLEAR), (store,))
        return int(count)

    return Write(store, Batch(then=then))


def _plan_set_ttl(store: str, key: str, ttl: float | None = None) -> Write:
    def then(cur: Any, db: Database) -> bool:
        now = time.time()
        cur.execute(db.sql(SET_TTL), (_expiry(ttl, now), now, store, key, now))
        return cur.rowcount > 0

    _expiry(ttl, 0.0)  # refuse a bad ttl before queueing
    return Write(store, Batch(then=then))


def _plan_incr(store: str, key: str, amount: Any = 1, default: Any = 0) -> Write:
    _number(amount, "amount")
    _number(default, "default")

    def decide(found: bool, value: Any, expires_at: float | None) -> Any:
        current = value if found else default
        if not _is_number(current):
            return Refused(
                f"data store {store!r}: key {key!r} holds {_kind(current)}, not a number;"
                " incr needs a number (set it to one first)"
            )
        new = current + amount
        if isinstance(new, float) and not math.isfinite(new):
            return Refused(f"data store {store!r}: incr of key {key!r} overflowed")
        return _Change(new, expires_at if found else None, new)  # keeps the key's TTL

    return Write(store, _modify(store, key, decide))


def _plan_set_if_absent(store: str, key: str, value: Any, ttl: float | None = None) -> Write:
    text = _dumps(value)
    _expiry(ttl, 0.0)

    def decide(found: bool, _value: Any, _expires_at: float | None) -> Any:
        if found:
            return _Keep(False)
        return _Change(text, _expiry(ttl, time.time()), True, encoded=True)

    return Write(store, _modify(store, key, decide))


def _plan_compare_and_set(
    store: str, key: str, expected: Any, value: Any, ttl: float | None = None
) -> Write:
    text = _dumps(value)
    _dumps(expected)
    _expiry(ttl, 0.0)

    def decide(found: bool, current: Any, _expires_at: float | None) -> Any:
        if not same_json(current if found else None, expected):
            return _Keep(False)
        return _Change(text, _expiry(ttl, time.time()), True, encoded=True)

    return Write(store, _modify(store, key, decide))


PLANS: dict[str, Callable[..., Read | Write]] = {
    "get": _plan_get,
    "lookup": _plan_lookup,
    "entry": _plan_entry,
    "keys": _plan_keys,
    "items": _plan_items,
    "entries": _plan_entries,
    "set": _plan_set,
    "delete": _plan_delete,
    "clear": _plan_clear,
    "set_ttl": _plan_set_ttl,
    "incr": _plan_incr,
    "set_if_absent": _plan_set_if_absent,
    "compare_and_set": _plan_compare_and_set,
}


@dataclass
class _Change:
    value: Any
    expires_at: float | None
    result: Any
    encoded: bool = False


@dataclass
class _Keep:
    result: Any


def _modify(store: str, key: str, decide: Callable[[bool, Any, float | None], Any]) -> Batch:
    """A read-decide-write of one key with its row locked, inside the writer's transaction."""

    def then(cur: Any, db: Database) -> Any:
        now = time.time()
        cur.execute(db.sql(PLACEHOLDER), (store, key, now))
        cur.execute(db.sql(CURRENT + (" FOR UPDATE" if db.is_postgres else "")), (store, key))
        text, expires_at = cur.fetchone()
        found = expires_at is None or expires_at > now
        outcome = decide(found, orjson.loads(text) if found else None, expires_at)
        if isinstance(outcome, _Change):
            value = outcome.value if outcome.encoded else _dumps(outcome.value)
            cur.execute(db.sql(UPDATE), (value, outcome.expires_at, now, store, key))
            return outcome.result
        if not found:
            cur.execute(db.sql(DELETE), (store, key))  # the placeholder, or an expired row
        return outcome.result if isinstance(outcome, _Keep) else outcome

    return Batch(then=then)


def list_stores(db: Database) -> list[StoreSummary]:
    rows = db.fetchall(STORES, (time.time(),))
    return sorted(
        (StoreSummary(name, int(count), float(updated)) for name, count, updated in rows),
        key=lambda s: s.name,
    )


def same_json(a: Any, b: Any) -> bool:
    """Equality of JSON values: 1 == 1.0, but true is not 1 and "1" is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _entry(db: Database, store: str, key: str) -> Entry | None:
    row = db.fetchone(ENTRY, (store, key, time.time()))
    if row is None:
        return None
    key, value, expires_at, updated_at = row
    return Entry(key, orjson.loads(value), expires_at, updated_at)


def _rows(db: Database, store: str, prefix: str, columns: str) -> list[tuple]:
    sql = ENTRIES.format(columns=columns, prefix=BY_PREFIX if prefix else "")
    params: tuple = (store, time.time(), len(prefix), prefix) if prefix else (store, time.time())
    # Sorted here, not in SQL: PostgreSQL's collation would order keys unlike SQLite.
    return sorted(db.fetchall(sql, params), key=lambda row: row[0])


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError as exc:
        raise DataStoreError(
            f"data store values are JSON: {exc} (use str, int, float, bool, None, list, dict)"
        ) from None


def _expiry(ttl: Any, now: float) -> float | None:
    if ttl is None:
        return None
    if not _is_number(ttl) or not math.isfinite(ttl) or ttl <= 0:
        raise DataStoreError(f"ttl is seconds greater than 0 (or none for no expiry), not {ttl!r}")
    return now + float(ttl)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any, what: str) -> None:
    if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
        raise DataStoreError(f"incr: {what} must be a number, not {value!r}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {str: "a string", list: "a list", dict: "an object", bool: "a boolean"}
    return f"{names.get(type(value), type(value).__name__)} ({orjson.dumps(value).decode()[:40]})"
