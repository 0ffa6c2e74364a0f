"""Data-store operations, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest

from relayflow.datastores import DataStoreError
from relayflow.store.data_stores import same_json

from .conftest import Stores


def test_values_are_any_json_and_come_back_as_stored(ds: Stores) -> None:
    s = ds.stores
    values = {
        "object": {"name": "Ada", "tags": ["a"], "nested": {"n": 1.5}},
        "list": [1, "two", None, True],
        "text": "héllo ✓",
        "int": 2**53 + 1,
        "float": 0.1,
        "bool": False,
        "null": None,
    }

    async def work() -> dict:
        for key, value in values.items():
            await s.set("types", key, value)
        return {key: await s.get("types", key, "missing") for key in values}

    assert ds.run(work()) == values


def test_get_returns_the_default_for_missing_keys(ds: Stores) -> None:
    assert ds.run(ds.stores.get("s", "nope")) is None
    assert ds.run(ds.stores.get("s", "nope", {"d": 1})) == {"d": 1}


def test_set_overwrites_and_delete_reports_what_it_did(ds: Stores) -> None:
    s = ds.stores

    async def work() -> tuple:
        await s.set("s", "k", 1)
        await s.set("s", "k", 2)
        value = await s.get("s", "k")
        return value, await s.delete("s", "k"), await s.delete("s", "k"), await s.get("s", "k")

    assert ds.run(work()) == (2, True, False, None)


def test_expired_keys_are_invisible_everywhere(ds: Stores) -> None:
    s = ds.stores

    async def work() -> dict:
        await s.set("ttl", "short", "gone soon", ttl=0.2)
        await s.set("ttl", "long", "stays", ttl=3600)
        await s.set("ttl", "forever", "stays")
        before = await s.keys("ttl")
        time.sleep(0.3)
        return {
            "before": before,
            "after": await s.keys("ttl"),
            "get": await s.get("ttl", "short", "default"),
            "items": await s.items("ttl"),
            "stores": [x.public()["keys"] for x in await s.stores()],
            "absent": await s.set_if_absent("ttl", "short", "again"),
            "delete": await s.delete("ttl", "long"),
        }

    out = ds.run(work())
    assert out["before"] == ["forever", "long", "short"]
    assert out["after"] == ["forever", "long"]
    assert out["get"] == "default"
    assert out["items"] == [["forever", "stays"], ["long", "stays"]]
    assert out["stores"] == [2]
    assert out["absent"] is True  # an expired key counts as absent
    assert out["delete"] is True


def test_expired_rows_are_purged_lazily(ds: Stores) -> None:
    s = ds.stores

    async def work() -> None:
        await s.set("purge", "old", 1, ttl=0.1)
        time.sleep(0.2)
        s._purged.clear()  # pretend the last purge was long ago
        await s.set("purge", "new", 2)

    ds.run(work())
    rows = ds.db.fetchall("SELECT key FROM data_store_entries WHERE store = ?", ("purge",))
    assert rows == [("new",)]


def test_set_ttl_changes_or_removes_expiry(ds: Stores) -> None:
    s = ds.stores

    async def work() -> tuple:
        await s.set("t", "k", 1, ttl=0.2)
        kept = await s.set_ttl("t", "k", None)
        missing = await s.set_ttl("t", "nope", 10)
        time.sleep(0.3)
        still = await s.get("t", "k")
        await s.set_ttl("t", "k", 0.1)
        time.sleep(0.2)
        return kept, missing, still, await s.get("t", "k")

    assert ds.run(work()) == (True, False, 1, None)


def test_keys_by_prefix_are_exact_and_sorted(ds: Stores) -> None:
    s = ds.stores
    names = ["user:2", "user:10", "user:1", "User:3", "user_x", "user%y", "users", "u", "ü:1"]

    async def work() -> dict:
        for name in names:
            await s.set("p", name, 1)
        return {
            "all": await s.keys("p"),
            "user:": await s.keys("p", "user:"),
            "user_": await s.keys("p", "user_"),
            "user%": await s.keys("p", "user%"),
            "ü": await s.keys("p", "ü"),
            "none": await s.keys("p", "zzz"),
        }

    out = ds.run(work())
    assert out["all"] == sorted(names)
    assert out["user:"] == ["user:1", "user:10", "user:2"]  # case-sensitive, no wildcards
    assert out["user_"] == ["user_x"]
    assert out["user%"] == ["user%y"]
    assert out["ü"] == ["ü:1"]
    assert out["none"] == []


def test_stores_are_listed_with_their_key_counts(ds: Stores) -> None:
    s = ds.stores

    async def work() -> list:
        await s.set("b", "1", 1)
        await s.set("a", "1", 1)
        await s.set("a", "2", 1)
        return [(x.name, x.keys) for x in await s.stores()]

    assert ds.run(work()) == [("a", 2), ("b", 1)]


def test_clear_removes_one_store_only(ds: Stores) -> None:
    s = ds.stores

    async def work() -> tuple:
        for n in range(5):
            await s.set("c", str(n), n)
        await s.set("other", "k", 1)
        return await s.clear("c"), await s.keys("c"), await s.keys("other")

    assert ds.run(work()) == (5, [], ["k"])


def test_incr_counts_from_a_default_and_keeps_the_ttl(ds: Stores) -> None:
    s = ds.stores

    async def work() -> tuple:
        first = await s.incr("n", "visits")
        second = await s.incr("n", "visits", 10)
        down = await s.incr("n", "visits", -1)
        floaty = await s.incr("n", "ratio", 0.5, default=1)
        from_default = await s.incr("n", "fresh", 1, default=100)
        await s.set("n", "expiring", 5, ttl=3600)
        await s.incr("n", "expiring")
        entry = await s.entry("n", "expiring")
        return first, second, down, floaty, from_default, entry.value, entry.expires_at

    first, second, down, floaty, from_default, value, expires_at = ds.run(work())
    assert (first, second, down, floaty, from_default) == (1, 11, 10, 1.5, 101)
    assert isinstance(first, int)
    assert value == 6 and expires_at is not None


def test_incr_refuses_values_that_are_not_numbers(ds: Stores) -> None:
    s = ds.stores
    ds.run(s.set("n", "name", "Ada"))
    ds.run(s.set("n", "flag", True))
    with pytest.raises(DataStoreError, match='holds a string \\("Ada"\\), not a number'):
        ds.run(s.incr("n", "name"))
    with pytest.raises(DataStoreError, match="holds a boolean"):
        ds.run(s.incr("n", "flag"))
    with pytest.raises(DataStoreError, match="amount must be a number"):
        ds.run(s.incr("n", "x", "1"))
    assert ds.run(s.get("n", "name")) == "Ada"
    assert ds.run(s.keys("n")) == ["flag", "name"]  # no placeholder left behind for "x"


def test_set_if_absent_sets_once(ds: Stores) -> None:
    s = ds.stores

    async def work() -> tuple:
        return (
            await s.set_if_absent("once", "evt-1", "first"),
            await s.set_if_absent("once", "evt-1", "second"),
            await s.get("once", "evt-1"),
        )

    assert ds.run(work()) == (True, False, "first")


def test_compare_and_set_only_changes_the_expected_value(ds: Stores) -> None:
    s = ds.stores

    async def work() -> tuple:
        created = await s.compare_and_set("cas", "k", None, {"v": 1})
        stale = await s.compare_and_set("cas", "k", {"v": 0}, {"v": 2})
        fresh = await s.compare_and_set("cas", "k", {"v": 1}, {"v": 2})
        absent_mismatch = await s.compare_and_set("cas", "other", "x", "y")
        return created, stale, fresh, await s.get("cas", "k"), absent_mismatch

    assert ds.run(work()) == (True, False, True, {"v": 2}, False)
    assert ds.run(s.keys("cas")) == ["k"]


def test_json_equality_for_compare_and_set() -> None:
    assert same_json(1, 1.0)
    assert same_json({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not same_json(True, 1)
    assert not same_json("1", 1)
    assert not same_json(None, 0)
    assert not same_json([1, 2], [2, 1])


def test_bad_names_keys_values_and_ttls_are_refused(ds: Stores) -> None:
    s = ds.stores
    with pytest.raises(DataStoreError, match="is not a data store name"):
        ds.run(s.set("bad name!", "k", 1))
    with pytest.raises(DataStoreError, match="keys are 1 to 512 characters"):
        ds.run(s.set("s", "", 1))
    with pytest.raises(DataStoreError, match="keys are 1 to 512 characters"):
        ds.run(s.set("s", "x" * 513, 1))
    with pytest.raises(DataStoreError, match="keys are strings"):
        ds.run(s.get("s", 5))
    with pytest.raises(DataStoreError, match="values are JSON"):
        ds.run(s.set("s", "k", {1, 2}))
    with pytest.raises(DataStoreError, match="ttl is seconds greater than 0"):
        ds.run(s.set("s", "k", 1, ttl=0))
    with pytest.raises(DataStoreError, match="is not a data-store operation"):
        ds.run(s.call("drop_table", "s"))
    assert ds.run(s.keys("s")) == []


def test_the_blocking_api_does_the_same_operations(ds: Stores) -> None:
    s = ds.stores
    s.call_blocking("set", "sync", key="a", value=[1])
    assert s.call_blocking("incr", "sync", key="n", amount=2) == 2
    assert s.call_blocking("get", "sync", key="a") == [1]
    assert s.call_blocking("keys", "sync", prefix="") == ["a", "n"]
