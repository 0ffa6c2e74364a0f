"""RSS: new items of RSS and Atom feeds (read with feedparser)."""

from relayflow.sdk import App

APP = App(
    key="rss",
    title="RSS",
    description="New items of an RSS or Atom feed, one event each",
    docs="https://feedparser.readthedocs.io/",
)
