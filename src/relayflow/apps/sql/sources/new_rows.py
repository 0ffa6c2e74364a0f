"""New Row: each row added to a table (or returned by a query), by an increasing column."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from relayflow.apps.sql import engine_url
from relayflow.sdk import PollContext, Polled, PollError, SourceInputs, field, polling_source

PAGE = 5000  # rows fetched per query: a big backlog is read page by page


class Inputs(SourceInputs):
    table: str | None = field(None, label="Table", examples=["signups", "public.users"])
    query: str | None = field(
        None,
        label="Query",
        doc="Instead of a table: a SELECT whose rows are polled (it must return `column`)",
        examples=["SELECT id, email, plan FROM users WHERE plan <> 'free'"],
    )
    column: str = field(
        label="Increasing column",
        doc="A column whose value only grows: an id, or a creation timestamp. A row is new"
        " when its value is greater than the greatest emitted so far.",
        examples=["id", "created_at"],
    )


SAMPLE: dict[str, Any] = {
    "row": {"id": 1001, "email": "ada@example.com", "name": "Ada Lovelace", "plan": "pro"},
    "newRow": [1001, "ada@example.com", "Ada Lovelace", "pro"],
    "table": "signups",
}


@polling_source(
    "sql.new_rows",
    title="New Row",
    sample=SAMPLE,
    every=60,
    dedupe="greatest",
    needs_account=True,
    docs="https://docs.sqlalchemy.org/en/20/core/engines.html",
)
def new_rows(ctx: PollContext[Inputs]) -> Iterator[Polled]:
    """A row of a table or query whose increasing column (an id or a timestamp) is greater
    than any emitted before: `row` by column name, `newRow` as the list of values."""
    import sqlalchemy as sa

    inputs = ctx.inputs
    if (inputs.table is None) == (inputs.query is None):
        raise PollError("give `table:` or `query:` (one of them)")
    url = ctx.secret("url")
    if url.startswith("sqlite:///"):
        ctx.files.resolve(url.removeprefix("sqlite:///"))
    engine = sa.create_engine(engine_url(url))
    try:
        with engine.connect() as conn:
            yield from _rows(conn, sa, inputs, ctx)
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise PollError(f"the database answered: {reason}") from None
    finally:
        engine.dispose()


def _rows(conn: Any, sa: Any, inputs: Inputs, ctx: PollContext[Inputs]) -> Iterator[Polled]:
    quote = conn.dialect.identifier_preparer.quote
    if inputs.table is not None:
        source = ".".join(quote(part) for part in inputs.table.split("."))
    else:
        source = f"({inputs.query}) AS polled"
    column = quote(inputs.column)
    kind = (ctx.position or {}).get("kind")
    after = _from_json(ctx.cursor, kind)
    name = inputs.table or "query"
    if ctx.first and ctx.backfill is not None:
        # Only the newest rows can be emitted: read those (the newest one at least, so the
        # cursor starts at the greatest value).
        sql = f"SELECT * FROM {source} ORDER BY {column} DESC LIMIT :n"
        result = conn.execute(sa.text(sql), {"n": max(ctx.backfill, 1)})
        keys = list(result.keys())
        for values in reversed(result.fetchall()):
            yield _polled(keys, values, inputs.column, name)
        return
    while True:
        where = "" if after is None else f" WHERE {column} > :after"
        sql = f"SELECT * FROM {source}{where} ORDER BY {column} LIMIT :n"
        params = {"n": PAGE} if after is None else {"n": PAGE, "after": after}
        result = conn.execute(sa.text(sql), params)
        keys = list(result.keys())
        if inputs.column not in keys:
            raise PollError(f"{name} has no column {inputs.column!r}; its columns: {keys}")
        page = result.fetchall()
        for values in page:
            yield _polled(keys, values, inputs.column, name)
        if len(page) < PAGE:
            return
        after = page[-1][keys.index(inputs.column)]


def _polled(keys: list[str], values: Any, column: str, name: str) -> Polled:
    raw = values[keys.index(column)]
    if raw is None:
        return Polled.problem_at(f"{name}: a row has no {column}; it cannot be ordered")
    cells = [_json(v) for v in values]
    event = {"row": dict(zip(keys, cells, strict=True)), "newRow": cells, "table": name}
    kind = "datetime" if isinstance(raw, datetime) else "date" if isinstance(raw, date) else None
    return Polled(event, id=_json(raw), position={"kind": kind} if kind else None)


def _from_json(value: Any, kind: str | None) -> Any:
    if value is None or kind is None:
        return value
    return datetime.fromisoformat(value) if kind == "datetime" else date.fromisoformat(value)


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value
