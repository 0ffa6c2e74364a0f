"""http.new_items and rss.new_items against local stand-ins: new items once each across
pages (a cursor, a next link), headers from an account, a failing API retried and shown,
RSS and Atom feeds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import Relayflow

from .helpers import events_of, status, wait_until
from .standins import TOKEN, StandIn, atom, rss


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    with StandIn() as found:
        yield found


def source_workflow(name: str, uses: str, inputs: str, account: str | None = None) -> str:
    line = f"    account: {account}\n" if account else ""
    return f"""\
name: {name}
trigger:
  source:
    uses: {uses}
{line}    every: 1s
    backfill: all
    with: {inputs}
steps:
  - name: note
    uses: util.echo
    with: {{value: ok}}
"""


def wait_events(rf: Relayflow, workflow: str, count: int) -> list[dict]:
    wait_until(lambda: len(events_of(rf, workflow)) >= count, 30, f"{count} events")
    wait_until(lambda: status(rf, workflow)["last_poll_at"], 10)
    return events_of(rf, workflow)


def test_new_items_of_a_json_api_across_pages_once_each(
    sqlite_installation: Relayflow, standin: StandIn
):
    rf = sqlite_installation
    standin.items = [{"id": f"s{n}", "email": f"user{n}@example.com"} for n in (3, 2, 1)]
    rf.cli("accounts", "add", "http", "api", "--bearer-token", TOKEN)
    cursor = f"{{url: '{standin.url}/api/items', items: data, cursor: next_cursor}}"
    linked = f"{{url: '{standin.url}/api/linked', items: results, next_link: links.next}}"
    rf.deploy_text("api-cursor", source_workflow("api-cursor", "http.new_items", cursor, "api"))
    rf.deploy_text("api-linked", source_workflow("api-linked", "http.new_items", linked, "api"))
    for name in ("api-cursor", "api-linked"):
        found = wait_events(rf, name, 3)
        assert [e["id"] for e in found] == ["s1", "s2", "s3"]  # oldest first
    standin.items = [{"id": "s5", "email": "e5"}, {"id": "s4", "email": "e4"}, *standin.items]
    standin.fail = 2  # two 503s: the poll that meets them fails and is retried
    for name in ("api-cursor", "api-linked"):
        wait_until(lambda n=name: len(events_of(rf, n)) >= 5, 30, "the new items")
        assert [e["id"] for e in events_of(rf, name)] == ["s1", "s2", "s3", "s4", "s5"]
    errors = [status(rf, n)["last_error"] or "" for n in ("api-cursor", "api-linked")]
    assert any("answered 503" in e for e in errors), errors


def test_a_refused_token_is_shown_on_the_workflow(
    sqlite_installation: Relayflow, standin: StandIn
):
    rf = sqlite_installation
    rf.cli("accounts", "add", "http", "wrong-key", "--bearer-token", "not-the-token")
    inputs = f"{{url: '{standin.url}/api/items', items: data}}"
    workflow = source_workflow("api-refused", "http.new_items", inputs, "wrong-key")
    rf.deploy_text("api-refused", workflow)
    found = wait_until(lambda: (s := status(rf, "api-refused"))["failures"] and s, 20)
    assert "answered 401: the credentials were refused; check the account" in found["last_error"]


def test_new_items_of_rss_and_atom_feeds(sqlite_installation: Relayflow, standin: StandIn):
    rf = sqlite_installation
    standin.feed = rss(
        [
            ("post-2", "Second", "Tue, 02 Dec 2026 09:00:00 GMT"),
            ("post-1", "First", "Mon, 01 Dec 2026 09:00:00 GMT"),
        ]
    )
    rf.deploy_text(
        "blog", source_workflow("blog", "rss.new_items", f"{{url: '{standin.url}/feed.xml'}}")
    )
    found = wait_events(rf, "blog", 2)
    assert [e["title"] for e in found] == ["First", "Second"]
    assert found[0]["link"] == "https://example.com/post-1"
    assert found[0]["published"] == "2026-12-01T09:00:00+00:00"
    assert found[0]["feed"] == {"title": "Example blog", "link": "https://example.com/"}
    standin.feed = atom(
        [
            ("post-3", "Third", "2026-12-03T09:00:00Z"),
            ("post-2", "Second", "2026-12-02T09:00:00Z"),
            ("post-1", "First", "2026-12-01T09:00:00Z"),
        ]
    )
    wait_until(lambda: len(events_of(rf, "blog")) >= 3, 30, "the third post")
    assert [e["title"] for e in events_of(rf, "blog")] == ["First", "Second", "Third"]
