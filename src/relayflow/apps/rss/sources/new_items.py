"""New Item in Feed: each new entry of an RSS or Atom feed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from relayflow.sdk import PollContext, Polled, PollError, SourceInputs, field, polling_source


class Inputs(SourceInputs):
    url: str = field(label="Feed URL", examples=["https://example.com/blog/feed.xml"])


SAMPLE: dict[str, Any] = {
    "id": "https://example.com/blog/launch",
    "title": "We launched",
    "link": "https://example.com/blog/launch",
    "summary": "relayflow is out.",
    "author": "Ada Lovelace",
    "published": "2026-12-01T09:30:00+00:00",
    "feed": {"title": "Example blog", "link": "https://example.com/blog"},
}


@polling_source(
    "rss.new_items",
    title="New Item in Feed",
    sample=SAMPLE,
    every=900,
    dedupe="unique",
    docs="https://feedparser.readthedocs.io/en/latest/reference.html",
)
def new_items(ctx: PollContext[Inputs]) -> Iterator[Polled]:
    """Each entry of an RSS (0.9x, 1.0, 2.0) or Atom feed not emitted before, by its id
    (its link or title where it has none), oldest first: `title`, `link`, `summary`,
    `author`, `published` (ISO 8601) and the `feed`'s title and link."""
    import feedparser

    answer = ctx.get(ctx.inputs.url)
    parsed = feedparser.parse(answer.content)
    if parsed.bozo and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise PollError(f"{ctx.inputs.url} is not an RSS or Atom feed: {reason}")
    feed = {"title": parsed.feed.get("title"), "link": parsed.feed.get("link")}
    entries = list(parsed.entries)
    if all(e.get("published_parsed") or e.get("updated_parsed") for e in entries):
        entries.sort(key=lambda e: e.get("published_parsed") or e.get("updated_parsed"))
    else:
        entries.reverse()  # feeds list the newest first
    for entry in entries:
        key = entry.get("id") or entry.get("link") or entry.get("title")
        if not key:
            yield Polled.problem_at(f"an entry of {ctx.inputs.url} has no id, link or title")
            continue
        yield Polled(_event(entry, feed), id=str(key))


def _event(entry: Any, feed: dict[str, Any]) -> dict[str, Any]:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    published = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", stamp) if stamp else None
    return {
        "id": entry.get("id"),
        "title": entry.get("title"),
        "link": entry.get("link"),
        "summary": entry.get("summary"),
        "author": entry.get("author"),
        "published": published,
        "feed": feed,
    }
