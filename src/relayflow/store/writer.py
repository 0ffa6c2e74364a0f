"""Grouped commits: one writer thread turns many concurrent writes into few transactions.

Every caller hands over a `Batch` (statements, and optionally a function run inside the
transaction) and waits for its commit. The thread waits for its turn to write (on SQLite
the writers of every process take turns), then drains whatever has queued up meanwhile and
while the previous commit was being synced, runs it all as one transaction (same
statements merged into one `executemany`), commits once, then wakes every caller. If the
grouped transaction fails, each batch is retried on its own so one bad write cannot fail
others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from relayflow.store.database import Database

log = logging.getLogger(__name__)

MAX_GROUP = 2000


@dataclass
class Batch:
    """Writes that must commit together. `then` runs last, inside the same transaction."""

    statements: Sequence[tuple[str, Sequence[Any]]] = ()
    then: Callable[[Any, Database], Any] | None = None
    notify: bool = False  # wake workers in other processes (PostgreSQL NOTIFY) on commit
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _future: asyncio.Future[Any] | None = field(default=None, repr=False)
    _done: Callable[[Any, BaseException | None], None] | None = field(default=None, repr=False)


class Writer:
    """The single writer of one process. Start it, `await write(batch)`, stop it."""

    def __init__(self, db: Database, on_commit: Callable[[], None] | None = None) -> None:
        self.db = db
        self._queue: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._on_commit = on_commit
        self.commits = 0
        self.batches = 0
        self._turn: Any = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="relayflow-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    async def write(self, batch: Batch) -> Any:
        """Commit `batch` (grouped with others) and return what its `then` returned."""
        loop = asyncio.get_running_loop()
        batch._loop, batch._future = loop, loop.create_future()
        self._queue.put(batch)
        return await batch._future

    def write_blocking(self, batch: Batch) -> Any:
        """The same as `write`, for callers outside an event loop."""
        box: dict[str, Any] = {}
        event = threading.Event()

        def done(result: Any, error: BaseException | None) -> None:
            box["result"], box["error"] = result, error
            event.set()

        batch._done = done
        self._queue.put(batch)
        event.wait()
        if box["error"] is not None:
            raise box["error"]
        return box["result"]

    # The thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        conn = self.db.connect()
        self._turn = self.db.write_turn()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                # Wait for the turn before taking the rest: what queues up while another
                # process commits joins this group instead of waiting a turn of its own.
                with self._turn:
                    group, stopping = self._drain(first)
                    conn, outcomes = self._commit_group(conn, group)
                _finish(outcomes)
                if stopping:
                    return
        finally:
            with contextlib.suppress(Exception):
                conn.close()
            close_turn = getattr(self._turn, "close", None)
            if close_turn is not None:
                close_turn()

    def _drain(self, first: Batch) -> tuple[list[Batch], bool]:
        """`first` and whatever else has queued (up to MAX_GROUP); True if told to stop."""
        group = [first]
        while len(group) < MAX_GROUP:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                return group, True
            group.append(nxt)
        return group, False

    def _commit_group(
        self, conn: Any, group: list[Batch]
    ) -> tuple[Any, list[tuple[Batch, Any, BaseException | None]]]:
        outcomes: list[tuple[Batch, Any, BaseException | None]] = []
        try:
            results = self._transaction(conn, group)
        except Exception:
            log.debug("grouped commit failed, retrying %d batches one by one", len(group))
            conn = self._reset(conn)
            for batch in group:
                try:
                    (result,) = self._transaction(conn, [batch])
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    conn = self._reset(conn)
                    outcomes.append((batch, None, exc))
                else:
                    outcomes.append((batch, result, None))
        else:
            outcomes = [(batch, result, None) for batch, result in zip(group, results, strict=True)]
        return conn, outcomes

    def _transaction(self, conn: Any, group: list[Batch]) -> list[Any]:
        db = self.db
        if not db.is_postgres:
            conn.execute("BEGIN IMMEDIATE")
        try:
            merged: dict[str, list[Sequence[Any]]] = {}
            for batch in group:
                for sql, params in batch.statements:
                    merged.setdefault(sql, []).append(params)
            cur = conn.cursor()
            for sql, rows in merged.items():
                if len(rows) == 1:
                    cur.execute(db.sql(sql), rows[0])
                else:
                    cur.executemany(db.sql(sql), rows)
            results = [batch.then(cur, db) if batch.then else None for batch in group]
            if db.is_postgres:
                if any(batch.notify for batch in group):
                    cur.execute("NOTIFY relayflow_runs")
                conn.commit()
            else:
                conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise
        self.commits += 1
        self.batches += len(group)
        if self._on_commit is not None:
            self._on_commit()
        return results

    def _reset(self, conn: Any) -> Any:
        try:
            conn.rollback()
            return conn
        except Exception:  # noqa: BLE001 - the connection broke; open a new one
            time.sleep(0.1)
            return self.db.connect()


def _finish(outcomes: list[tuple[Batch, Any, BaseException | None]]) -> None:
    """Wake every waiter: one hop into each event loop for the whole group."""
    per_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, BaseException | None]]] = {}
    for batch, result, error in outcomes:
        if batch._loop is not None:
            per_loop.setdefault(batch._loop, []).append((batch._future, result, error))
        elif batch._done is not None:
            batch._done(result, error)
    for loop, settled in per_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop closed while we were committing
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, result, error in settled:
        if fut.done():
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)
