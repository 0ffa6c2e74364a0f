"""New Item: each new item of a JSON API's list, following its pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from relayflow.apps.http import account_headers
from relayflow.sdk import PollContext, Polled, PollError, SourceInputs, field, polling_source


class Inputs(SourceInputs):
    url: str = field(label="URL", examples=["https://api.example.com/v1/signups"])
    items: str = field(
        "",
        label="Path to the items",
        doc="Where the list is in the answer, as dotted keys (data.items); empty: the answer"
        " is the list",
        examples=["data", "results"],
    )
    id: str = field("id", label="Id field", doc="The field that identifies an item (dotted)")
    next_link: str | None = field(
        None, label="Next page link", doc="Pagination: where the next page's URL is (links.next)"
    )
    cursor: str | None = field(
        None, label="Next page cursor", doc="Pagination: where the next page's cursor is"
    )
    cursor_param: str = field("cursor", label="Cursor parameter", doc="The query parameter")
    max_pages: int = field(10, label="Pages at most", doc="Pages read per poll")
    order: Literal["newest_first", "oldest_first"] = field(
        "newest_first", label="Order", doc="How the API lists items (they run oldest first)"
    )


SAMPLE: dict[str, Any] = {
    "id": "sig_1001",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "plan": "pro",
    "created_at": "2026-12-01T09:30:00Z",
}


@polling_source(
    "http.new_items",
    title="New Item in a JSON API",
    sample=SAMPLE,
    every=300,
    dedupe="unique",
    docs="https://www.python-httpx.org/",
)
def new_items(ctx: PollContext[Inputs]) -> Iterator[Polled]:
    """Each item of a JSON list (at `items` in the answer) whose `id` was not emitted
    before, across up to `max_pages` pages (a next link or a cursor); the item itself is
    the event. Headers come from an http account (a bearer token, other headers)."""
    inputs = ctx.inputs
    headers = account_headers(ctx.account)
    found: list[Any] = []
    url: str | None = inputs.url
    params: dict[str, Any] = {}
    for _page in range(max(inputs.max_pages, 1)):
        answer = ctx.get(url, headers, params or None)
        try:
            body = answer.json()
        except ValueError:
            raise PollError(f"GET {url} did not answer JSON") from None
        listed = dig(body, inputs.items)
        if not isinstance(listed, list):
            raise PollError(f"the answer of {url} has no list at {inputs.items or 'its top'!r}")
        found.extend(listed)
        following = dig(body, inputs.next_link) if inputs.next_link else None
        token = dig(body, inputs.cursor) if inputs.cursor else None
        if following:
            url, params = str(following), {}
        elif token and listed:
            params = {inputs.cursor_param: token}
        else:
            break
    if inputs.order == "newest_first":
        found.reverse()
    for item in found:
        item_id = dig(item, inputs.id) if isinstance(item, dict) else None
        if item_id is None:
            yield Polled.problem_at(f"an item of {inputs.url} has no {inputs.id!r}; skipped")
            continue
        yield Polled(item, id=str(item_id))


def dig(value: Any, path: str) -> Any:
    """The value at dotted `path` (`data.items`, `links.0.href`), or None."""
    for key in [k for k in path.split(".") if k]:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value
