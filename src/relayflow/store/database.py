"""Connections to the one database a relayflow installation uses: SQLite or PostgreSQL.

Schema and migrations go through SQLAlchemy and Alembic; the hot paths use raw DB-API
connections with prebuilt statements (DESIGN §6), written once with `?` placeholders.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

MIGRATIONS = Path(__file__).parent / "migrations"
_PLACEHOLDER = re.compile(r"\?")


class Database:
    """Knows the dialect, opens raw connections, and keeps one reader connection per thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self.path = url[len("sqlite:///") :]
        elif url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            self.dialect = "postgresql"
            self.path = ""
        else:
            raise ValueError(
                f"database URL {url!r} is not supported; use sqlite:///PATH or postgresql://..."
            )
        self._local = threading.local()

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def sql(self, text: str) -> str:
        """Adapt a `?`-placeholder statement to the driver's parameter style."""
        return _PLACEHOLDER.sub("%s", text) if self.is_postgres else text

    def connect(self) -> Any:
        if self.is_postgres:
            import psycopg

            dsn = self.url.replace("postgresql+psycopg://", "postgresql://")
            return psycopg.connect(dsn, autocommit=False)
        self._create_private()
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _create_private(self) -> None:
        """Create the SQLite file readable by this user only (SQLite gives its -wal and
        -shm files the same mode); an existing file is left as it is."""
        if self.path in ("", ":memory:") or os.path.exists(self.path):
            return
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))

    def write_turn(self) -> WriteTurn | contextlib.nullcontext[None]:
        """What a writer holds around each write transaction: on SQLite a file lock that
        the writers of every relayflow process take turns on (the kernel wakes the next one
        the moment it is free, where SQLite's busy handler would sleep 1, 2, 5, … ms and
        retry); nothing on PostgreSQL, whose writers do not exclude each other."""
        return contextlib.nullcontext() if self.is_postgres else WriteTurn(self.path + "-writers")

    def sqlalchemy_url(self) -> str:
        if self.is_postgres:
            rest = self.url.split("://", 1)[1]
            return f"postgresql+psycopg://{rest}"
        return self.url

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent, safe to call at every start)."""
        if not self.is_postgres:
            Path(self.path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._create_private()
        if self._schema_is_current():
            return
        from alembic import command
        from alembic.config import Config as AlembicConfig
        from sqlalchemy import create_engine

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        # Another process may be writing (a running server): wait for the lock, as readers do.
        connect_args = {} if self.is_postgres else {"timeout": 30}
        engine = create_engine(self.sqlalchemy_url(), connect_args=connect_args)
        try:
            with engine.begin() as conn:
                if self.is_postgres:
                    # Two processes starting at once must not both create the tables.
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7270001)")
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        finally:
            engine.dispose()

    def _schema_is_current(self) -> bool:
        """Whether the database is at the newest migration already, found without alembic
        (importing it and running a no-op upgrade cost every CLI command ~0.3 s)."""
        try:
            found = [row[0] for row in self.fetchall("SELECT version_num FROM alembic_version")]
        except Exception:  # noqa: BLE001 - no such table yet: a new database
            return False
        return found == [newest_revision()]

    def migration_state(self) -> tuple[str | None, str | None]:
        """(the database's schema revision, the newest migration's): equal when current.
        Raises the driver's error when the database cannot be reached; creates nothing."""
        from alembic.config import Config as AlembicConfig
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from sqlalchemy import create_engine

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        engine = create_engine(self.sqlalchemy_url())
        try:
            with engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision(), head
        finally:
            engine.dispose()

    # Reads -----------------------------------------------------------------------------

    def _reader(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            if self.is_postgres:
                conn.autocommit = True
            self._local.conn = conn
        return conn

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        conn = self._reader()
        cur = conn.execute(self.sql(sql), tuple(params))
        return list(cur.fetchall())

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def fetchdicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        conn = self._reader()
        cur = conn.execute(self.sql(sql), tuple(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A one-off write in its own transaction, for the CLI and administrative calls."""
        self.execute_many([(sql, params)])

    def execute_many(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        with self.transaction() as cur:
            for sql, params in statements:
                cur.execute(self.sql(sql), tuple(params))

    @contextlib.contextmanager
    def transaction(self, lock: int | None = None) -> Iterator[Any]:
        """A cursor in one write transaction on its own connection: committed when the block
        ends, rolled back if it raises. `lock` (PostgreSQL) serialises writers that must
        not interleave, e.g. two deploys; SQLite's BEGIN IMMEDIATE already does."""
        conn = self.connect()
        turn = self.write_turn()
        try:
            with turn:
                cur = conn.cursor()
                if not self.is_postgres:
                    cur.execute("BEGIN IMMEDIATE")
                elif lock is not None:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
                try:
                    yield cur
                    conn.commit() if self.is_postgres else conn.execute("COMMIT")
                except BaseException:
                    conn.rollback()
                    raise
        finally:
            conn.close()
            if isinstance(turn, WriteTurn):
                turn.close()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


@functools.cache
def newest_revision() -> str | None:
    """The head of the migrations: the revision no other migration builds on (None when
    there is not exactly one, so that alembic decides)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found = _REVISION.search(text)
        if found:
            revisions.add(found.group(1))
            parents.update(_DOWN_REVISION.findall(text))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


_REVISION = re.compile(r'^revision = "([^"]+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision = "([^"]+)"', re.MULTILINE)


class WriteTurn:
    """An exclusive lock on a file beside the SQLite database, held for one transaction at a
    time (`with turn:`), reusable. Each instance has its own open file, so two instances
    exclude each other even within one process."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
