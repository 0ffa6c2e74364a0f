"""The cursor's guarantee at the store: a chunk commits only from the generation its poll
read, so when two pollers hold one source (a lease that expired mid-poll), the second to
commit stores nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

from relayflow.store import polling as cursors
from relayflow.store.database import Database
from relayflow.store.runs import NewRun
from relayflow.store.writer import Writer


def test_a_poller_whose_cursor_moved_stores_nothing(database_url: str):
    db = Database(database_url)
    db.upgrade()
    writer = Writer(db)
    writer.start()
    try:
        slow = writer.write_blocking(cursors.claim("w1", "cfg", "slow:h:1:a", lease=0.0))
        fast = writer.write_blocking(cursors.claim("w1", "cfg", "fast:h:2:b", lease=60.0))
        assert isinstance(slow, cursors.Claim) and isinstance(fast, cursors.Claim)
        assert slow.generation == fast.generation and slow.first

        row = NewRun.of("w1", 1, '{"n": 1}')
        stored = writer.write_blocking(
            cursors.commit_chunk(fast, fast.generation, {"cursor": 1}, [row], None, [], 60)
        )
        assert stored == [row]
        late = NewRun.of("w1", 1, '{"n": 1}')
        again = writer.write_blocking(
            cursors.commit_chunk(slow, slow.generation, {"cursor": 1}, [late], None, [], 60)
        )
        assert again is None
        assert db.fetchall("SELECT id FROM runs") == [(row.run_id,)]
        assert cursors.cursor_of(db, "w1", "cfg") == {"cursor": 1}
        assert cursors.cursor_of(db, "w1", "changed inputs") is None  # starts afresh

        busy = writer.write_blocking(cursors.claim("w1", "cfg", "third:h:3:c", lease=60.0))
        assert isinstance(busy, cursors.Busy) and busy.owner == "fast:h:2:b"
    finally:
        writer.stop()
        db.close()
