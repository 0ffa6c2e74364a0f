"""Cursors for the paged profiles.json and events.json queries, kept in memory."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

# Lifetimes as a third-party client reports them (events 4 h, profiles 4 days).
LIFETIME_SECONDS = {"events": 4 * 3600, "profiles": 4 * 86400}
MAX_QUERIES = 1000


@dataclass
class _Query:
    account: str
    kind: str
    pks: list[int]
    batch_size: int
    expires_at: float


@dataclass(frozen=True)
class Page:
    """The row pks of one page and the cursor of the next page, if any."""

    pks: list[int]
    next_cursor: str | None
    previous_cursor: str | None


class CursorError(LookupError):
    """The cursor is unknown, expired, or belongs to another account or endpoint."""


class Cursors:
    """Snapshots of query results, paged by opaque cursors `<query id>.<page>`."""

    def __init__(self) -> None:
        self._queries: OrderedDict[str, _Query] = OrderedDict()

    def create(self, account: str, kind: str, pks: list[int], batch_size: int) -> str:
        """Store a query's result rows and return the cursor of its first page."""
        self._expire()
        query_id = secrets.token_urlsafe(12).replace(".", "")
        lifetime = LIFETIME_SECONDS[kind]
        self._queries[query_id] = _Query(account, kind, pks, batch_size, time.time() + lifetime)
        while len(self._queries) > MAX_QUERIES:
            self._queries.popitem(last=False)
        return f"{query_id}.0"

    def page(self, account: str, kind: str, cursor: str) -> Page:
        """The page a cursor points at; raise CursorError when it is not usable."""
        query_id, _, number = cursor.rpartition(".")
        query = self._queries.get(query_id)
        if (
            query is None
            or not number.isdigit()
            or query.account != account
            or query.kind != kind
            or query.expires_at < time.time()
        ):
            raise CursorError(
                f"Incorrect Usage. Cursor {cursor!r} is unknown or expired; pass the cursor "
                f"exactly as returned, or start a new query with POST /1/{kind}.json"
            )
        index = int(number)
        start = index * query.batch_size
        end = start + query.batch_size
        return Page(
            pks=query.pks[start:end],
            next_cursor=f"{query_id}.{index + 1}" if end < len(query.pks) else None,
            previous_cursor=f"{query_id}.{index - 1}" if index > 0 else None,
        )

    def clear(self) -> None:
        self._queries.clear()

    def _expire(self) -> None:
        now = time.time()
        for query_id in [q for q, query in self._queries.items() if query.expires_at < now]:
            del self._queries[query_id]
