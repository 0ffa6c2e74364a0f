"""The new rows of an Excel (.xlsx) sheet, after the rows the last poll read.

openpyxl's read-only mode streams the sheet's rows, so a big workbook is not held in
memory. An .xlsx file is rewritten whole on every save, so the rows already read are
recognised by their number and by the hash of the last one: a sheet whose last read row
changed (or that got shorter) is reported and read again only from its new end.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from relayflow.apps.files.csv_rows import Step, header_names
from relayflow.sdk import PollError


def new_entry() -> dict[str, Any]:
    return {"records": 0, "size": -1, "mtime_ns": 0, "last_hash": None, "header": None}


def read(
    path: Path, entry: dict[str, Any], header: bool, sheet: str | None
) -> Iterator[Step]:
    """The rows after the `entry["records"]` already read, updating `entry` as it goes;
    ("rewritten", why, None) first when the rows already read changed."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise PollError(f"{path.name} is not an Excel workbook openpyxl can read: {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            names = ", ".join(book.sheetnames)
            raise PollError(f"{path.name} has no sheet {sheet!r}; its sheets are {names}")
        rows = (book[sheet] if sheet else book.worksheets[0]).iter_rows(values_only=True)
        done = entry["records"]
        number = 0
        for number, values in enumerate(rows, start=1):
            if number < done:
                continue
            cells = [_json(v) for v in values]
            if number == done:
                if _hash(cells) != entry["last_hash"]:
                    yield ("rewritten", "the last row read from it changed", None)
                    return
                continue
            entry["records"], entry["last_hash"] = number, _hash(cells)
            while cells and cells[-1] is None:
                cells.pop()
            if not cells:
                continue  # a blank row
            if header and entry["header"] is None:
                entry["header"] = header_names(["" if c is None else str(c) for c in cells])
                continue
            yield ("row", cells, number)
        if number < done:
            yield ("rewritten", f"it has {number} rows, fewer than the {done} already read", None)
    finally:
        book.close()


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _hash(cells: list[Any]) -> str:
    return hashlib.blake2b(repr(cells).encode(), digest_size=12).hexdigest()
