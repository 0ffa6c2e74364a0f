"""New Row: each row appended to a CSV or Excel file, and each row of a new file."""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from relayflow.apps.files import csv_rows, xlsx_rows
from relayflow.sdk import PollContext, Polled, PollError, SourceInputs, field, polling_source


class Inputs(SourceInputs):
    path: str = field(
        label="File or folder",
        doc="A CSV or .xlsx file, or a folder: its files that match `patterns` (not its"
        " subfolders), in name order.",
        examples=["/data/signups", "/data/signups/export.csv"],
    )
    header: bool = field(
        True, label="First row is a header", doc="Rows are then also given by column name."
    )
    patterns: list[str] = field(
        ["*.csv", "*.tsv", "*.xlsx"], label="File patterns", doc="In a folder: the files read."
    )
    sheet: str | None = field(None, label="Sheet", doc="Excel: the sheet read (default: the first)")
    delimiter: str | None = field(
        None, label="Delimiter", doc="CSV: the field separator, when sniffing it guesses wrong"
    )


SAMPLE: dict[str, Any] = {
    "row": {"user_id": "u-1001", "email": "ada@example.com", "name": "Ada Lovelace",
            "phone": "+14155550100", "plan": "pro"},
    "newRow": ["u-1001", "ada@example.com", "Ada Lovelace", "+14155550100", "pro"],
    "file": "signups.csv",
    "rowNumber": 2,
    "sheet": None,
}


@polling_source(
    "files.new_rows",
    title="New Row",
    sample=SAMPLE,
    every=30,
    dedupe="position",
    docs="https://docs.python.org/3/library/csv.html",
)
def new_rows(ctx: PollContext[Inputs]) -> Iterator[Polled]:
    """A row of a CSV file (any dialect Python's csv module recognises, UTF-8 with or
    without a byte-order mark) or an Excel sheet: `row` by header, `newRow` as the list of
    values (Pipedream's shape), `file`, `rowNumber` and `sheet`. Rows appended to a file
    and the rows of new files are emitted once; a rewritten file is reported, not emitted
    again; a malformed line is reported by file and line, and the rows after it flow."""
    inputs = ctx.inputs
    root = ctx.files.resolve(inputs.path)
    if not root.exists():
        raise PollError(f"{inputs.path} does not exist (or relayflow may not read it)")
    found = _files(root, inputs.patterns)
    known = (ctx.position or {}).get("files", {})
    # A copy: the position the poll started from stays as it was.
    state: dict[str, Any] = {"files": {n: copy.deepcopy(known[n]) for n in found if n in known}}
    for name, path in found.items():
        excel = path.suffix.lower() == ".xlsx"
        entry = state["files"].get(name) or (xlsx_rows if excel else csv_rows).new_entry()
        state["files"][name] = entry
        try:
            if not csv_rows.changed(path, entry):
                continue
            steps = (
                xlsx_rows.read(path, entry, inputs.header, inputs.sheet)
                if excel
                else _csv_steps(path, entry, inputs)
            )
            for kind, value, number in steps:
                if kind == "row":
                    event = _event(value, entry["header"], name, number, inputs)
                    yield Polled(event, position=state)
                elif kind == "problem":
                    yield Polled.problem_at(f"{name} {value}", position=state)
                else:  # rewritten: read on from its new end
                    entry = state["files"][name] = _skip_to_end(path, excel, inputs)
                    yield Polled.problem_at(_rewritten(name, value), position=state)
        except FileNotFoundError:
            state["files"].pop(name, None)  # gone while being read: a new file if it comes back
    yield Polled.moved(state)


def _csv_steps(path: Path, entry: dict[str, Any], inputs: Inputs) -> Iterator[csv_rows.Step]:
    why = csv_rows.rewritten(path, entry)
    if why is not None:
        yield ("rewritten", why, None)
        return
    yield from csv_rows.read(path, entry, inputs.header, inputs.delimiter)


def _skip_to_end(path: Path, excel: bool, inputs: Inputs) -> dict[str, Any]:
    """A fresh entry for the file, read to its end without emitting anything."""
    if excel:
        entry = xlsx_rows.new_entry()
        for _step in xlsx_rows.read(path, entry, inputs.header, inputs.sheet):
            pass
    else:
        entry = csv_rows.new_entry()
        for _step in csv_rows.read(path, entry, inputs.header, inputs.delimiter):
            pass
    stat = path.stat()
    entry["size"], entry["mtime_ns"] = stat.st_size, stat.st_mtime_ns
    return entry


def _rewritten(name: str, why: str) -> str:
    return (
        f"{name} was rewritten ({why}); the rows already read are not emitted again,"
        " rows added to it from now on are"
    )


def _files(root: Path, patterns: list[str]) -> dict[str, Path]:
    if root.is_file():
        return {root.name: root}
    found = {}
    for path in sorted(root.iterdir()):
        name = path.name
        if name.startswith((".", "~$")) or not path.is_file():
            continue  # hidden files and the lock files spreadsheet programs leave
        if any(fnmatch.fnmatch(name.lower(), p.lower()) for p in patterns):
            found[name] = path
    return found


def _event(
    values: list[Any], header: list[str] | None, name: str, number: int | None, inputs: Inputs
) -> dict[str, Any]:
    if inputs.header and header is not None:
        row = dict(zip(header, values, strict=False))
        for missing in header[len(values) :]:
            row[missing] = None
    else:
        row = {_column(i): v for i, v in enumerate(values)}
    sheet = inputs.sheet if name.lower().endswith(".xlsx") else None
    return {"row": row, "newRow": values, "file": name, "rowNumber": number, "sheet": sheet}


def _column(index: int) -> str:
    """A spreadsheet column's letters: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
