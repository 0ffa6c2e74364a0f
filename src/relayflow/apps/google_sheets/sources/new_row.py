"""New Row Added: each row added to a sheet, with `newRow` as Pipedream emits it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from relayflow.apps.google_sheets import API, access_token
from relayflow.sdk import PollContext, Polled, PollError, SourceInputs, field, polling_source


class Inputs(SourceInputs):
    spreadsheet_id: str = field(
        label="Spreadsheet id", doc="From its URL: docs.google.com/spreadsheets/d/<id>/edit"
    )
    sheet: str = field("Sheet1", label="Sheet", doc="The tab's name")
    header: bool = field(True, label="First row is a header", doc="Row 1 is then not emitted")


SAMPLE: dict[str, Any] = {
    "newRow": ["u-1001", "Ada Lovelace", "ada@example.com", "+14155550100", "C-1001"],
    "range": "Sheet1!A2:E2",
    "worksheet": {"title": "Sheet1"},
    "rowNumber": 2,
    "row": {"user_id": "u-1001", "name": "Ada Lovelace", "email": "ada@example.com",
            "phone": "+14155550100", "customer_id": "C-1001"},
}  # fmt: skip


@polling_source(
    "google_sheets.new_row",
    title="New Row Added",
    sample=SAMPLE,
    every=60,
    dedupe="position",
    needs_account=True,
    docs="https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values/get",
)
def new_row(ctx: PollContext[Inputs]) -> Iterator[Polled]:
    """Each row added to the sheet since the last poll: `newRow` (the row's values, as
    Pipedream's New Row Added source emits them), `range`, `worksheet`, `rowNumber`, and
    `row` by the header's names. A sheet that got shorter, or whose last read row
    changed, is reported and read on from its new end."""
    inputs = ctx.inputs
    known = ctx.position or {}
    done = int(known.get("rows", 0))
    start = max(done, 1)
    values = _values(ctx, f"{inputs.sheet}!A{start}:ZZZ")  # from the last row read on
    state: dict[str, Any] = {"rows": done, "last": known.get("last"), "header": known.get("header")}
    if done:
        if not values or _hash(values[0]) != state["last"]:
            yield from _rewritten(ctx, inputs, done, state, len(values))
            return
        values = values[1:]
    for offset, cells in enumerate(values):
        number = start + offset + (1 if done else 0)
        state["rows"], state["last"] = number, _hash(cells)
        if number == 1 and inputs.header:
            state["header"] = [str(c) for c in cells]
            continue
        yield Polled(_event(inputs.sheet, number, cells, state["header"]), position=state)
    yield Polled.moved(state)


def _rewritten(
    ctx: PollContext[Inputs], inputs: Inputs, done: int, state: dict[str, Any], left: int
) -> Iterator[Polled]:
    why = "it is shorter" if not left else f"row {done}, the last one read, changed"
    state["rows"], state["last"] = 0, None  # read on from the new end: count its rows
    rows = _values(ctx, inputs.sheet)
    if rows:
        state["rows"], state["last"] = len(rows), _hash(rows[-1])
        if inputs.header:
            state["header"] = [str(c) for c in rows[0]]
    reason = (
        f"sheet {inputs.sheet} was rewritten ({why}); the rows already read are not emitted"
        " again, rows added from now on are"
    )
    yield Polled.problem_at(reason, position=state)


def _values(ctx: PollContext[Inputs], a1: str) -> list[list[Any]]:
    """The rows of range `a1` (spreadsheets.values.get; trailing empty cells left out)."""
    base = (ctx.account.get("api_base") or API).rstrip("/")
    sheet = quote(ctx.inputs.spreadsheet_id, safe="")
    url = f"{base}/v4/spreadsheets/{sheet}/values/{quote(a1, safe='')}"
    answer = ctx.get(url, {"Authorization": f"Bearer {access_token(ctx)}"})
    try:
        return answer.json().get("values") or []
    except ValueError:
        raise PollError(f"{url} did not answer the Sheets API's JSON") from None


def _event(sheet: str, number: int, cells: list[Any], header: list[str] | None) -> dict[str, Any]:
    last = _column(max(len(cells) - 1, 0))
    event: dict[str, Any] = {
        "newRow": cells,
        "range": f"{sheet}!A{number}:{last}{number}",
        "worksheet": {"title": sheet},
        "rowNumber": number,
    }
    if header is not None:
        event["row"] = {name: cells[i] if i < len(cells) else "" for i, name in enumerate(header)}
    return event


def _column(index: int) -> str:
    letters, index = "", index + 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _hash(cells: list[Any]) -> str:
    return hashlib.blake2b(json.dumps(cells).encode(), digest_size=12).hexdigest()
