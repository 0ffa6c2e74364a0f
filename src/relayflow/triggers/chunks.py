"""What one poll emits: a source's items, deduplicated and cut into chunks that commit.

`chunks()` is the pure part of a poll. It applies the source's dedupe strategy (DESIGN
§4b) against the cursor the poll started from, applies `backfill:` on a first poll, and
hands back chunks of at most `size` items, each with the cursor after its last item: the
cursor that commits with the chunk's runs, so a poll that stops after any chunk resumes
exactly where the runs stored so far end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from relayflow.jsoncodec import dumps as _dumps
from relayflow.jsoncodec import loads
from relayflow.sdk import Polled

CHUNK = 2000


@dataclass
class Chunk:
    """Items to emit and problems to report, and the cursor after them (JSON-ready)."""

    items: list[Polled] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    last: bool = False  # the poll's final chunk


def chunks(
    items: Iterable[Polled],
    dedupe: str,
    state: dict[str, Any] | None,
    backfill: int | None,
    size: int = CHUNK,
) -> Iterator[Chunk]:
    """The chunks of one poll that started from `state` (None: the first poll, where only
    the `backfill` most recent items are emitted; None: all of them)."""
    first = state is None
    cursor = (state or {}).get("cursor")
    position = (state or {}).get("position")
    source = iter(items)
    if dedupe == "last":
        listed = list(source)
        source = iter(_after_last(listed, cursor))
    limit = backfill if first else None
    kept: deque[Polled] | None = deque(maxlen=limit) if limit is not None else None
    current = Chunk()
    for item in source:
        if item.position is not None:
            position = item.position
        if item.problem is not None:
            if kept is None:  # a backfill reports no problems of the items it leaves out
                current.problems.append(item.problem)
        elif item.emits:
            new = True
            if dedupe == "greatest" and item.id is not None:
                new = cursor is None or _greater(item.id, cursor)
                if new:
                    cursor = item.id
            elif dedupe == "last" and item.id is not None:
                cursor = item.id
            if new:
                if kept is not None:
                    kept.append(item)
                else:
                    current.items.append(item)
        if kept is None and len(current.items) + len(current.problems) >= size:
            current.state = _snapshot(cursor, position)
            yield current
            current = Chunk()
    if kept is not None:
        current.items = list(kept) if limit else []
    current.state = _snapshot(cursor, position)
    current.last = True
    yield current


def _after_last(items: list[Polled], last_id: Any) -> list[Polled]:
    """Pipedream's `last`: the items after the last one emitted before; all of them when
    it is no longer listed."""
    if last_id is None:
        return items
    for index in range(len(items) - 1, -1, -1):
        if items[index].id == last_id:
            return items[index + 1 :]
    return items


def _greater(value: Any, than: Any) -> bool:
    numbers = (int, float)
    if isinstance(value, numbers) and isinstance(than, numbers):
        return value > than
    return str(value) > str(than)


def _snapshot(cursor: Any, position: Any) -> dict[str, Any]:
    # A source may yield one position object and update it as it goes: copy it now.
    return {"cursor": cursor, "position": loads(_dumps(position)) if position else position}
