"""The idempotency key at the store: copies of one delivery committed together make one
run, each copy's answer says which made it, and a key is taken again once its window has
passed, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from relayflow.store import deliveries
from relayflow.store.database import Database
from relayflow.store.runs import NewRun
from relayflow.store.writer import Writer


def keyed(key: str | None, window: float = 60.0) -> deliveries.Keyed:
    return deliveries.Keyed(NewRun.of("w1", 1, '{"n": 1}'), key, window, "charge.succeeded")


def test_copies_in_one_commit_make_one_run_and_the_key_returns_after_its_window(
    database_url: str,
):
    db = Database(database_url)
    db.upgrade()
    writer = Writer(db)
    writer.start()
    try:
        first, copy, other, unkeyed = keyed("evt_1"), keyed("evt_1"), keyed("evt_2"), keyed(None)
        started = writer.write_blocking(deliveries.ingest_keyed([first, copy, other, unkeyed]))
        assert started == [True, False, True, True]
        made = {row[0] for row in db.fetchall("SELECT id FROM runs")}
        assert made == {first.run.run_id, other.run.run_id, unkeyed.run.run_id}
        events = {row[0] for row in db.fetchall("SELECT id FROM events")}
        assert copy.run.event_id not in events and first.run.event_id in events
        logged = db.fetchall("SELECT outcome, key, event_type FROM delivery_log")
        assert logged == [("duplicate", "evt_1", "charge.succeeded")]
        assert db.fetchall("SELECT key, run_id FROM deliveries ORDER BY key") == [
            ("evt_1", first.run.run_id),
            ("evt_2", other.run.run_id),
        ]

        # A copy within the window is a duplicate; after it (window 0) the key is new again.
        assert writer.write_blocking(deliveries.ingest_keyed([keyed("evt_2")])) == [False]
        short = keyed("evt_3", window=0.0)
        assert writer.write_blocking(deliveries.ingest_keyed([short])) == [True]
        time.sleep(0.01)
        again = keyed("evt_3")
        assert writer.write_blocking(deliveries.ingest_keyed([again])) == [True]
        owner = db.fetchall("SELECT run_id FROM deliveries WHERE key = 'evt_3'")
        assert owner == [(again.run.run_id,)]
    finally:
        writer.stop()
