"""Rows of CSV, XLSX and JSON Lines files, streamed: never the whole file in memory.

    with open_rows(path) as rows:
        rows.columns        # the header (CSV, XLSX) or the keys of the first object (JSONL)
        for row in rows:    # dicts, one per data row
            rows.done()     # the fraction of the file read so far, 0.0 to 1.0

CSV cells are text (the encoding is UTF-8, a byte-order mark is allowed); XLSX cells keep
their types (numbers, dates); JSON Lines keep JSON's. Blank lines are skipped.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class FileError(ValueError):
    """The file cannot be read as rows; the message says why and what to do."""


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read from it (for progress)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.count += n or 0
        return n or 0


class Rows:
    """An open file's rows; iterate once. `columns` is known before the first row."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = file_format(path)
        self.size = os.path.getsize(path)
        self.total: int | None = None  # data rows, when the format says (XLSX)
        self._read = 0
        self._handle: Any = None
        self._iter: Iterator[dict[str, Any]]
        self.columns: list[str] = []
        opener = {"csv": self._open_csv, "xlsx": self._open_xlsx, "jsonl": self._open_jsonl}
        opener[self.format]()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._iter

    def done(self) -> float:
        """The fraction of the file read so far."""
        if self.format == "xlsx":
            return min(self._read / self.total, 1.0) if self.total else 1.0
        counter = self._handle
        return min(counter.count / self.size, 1.0) if self.size else 1.0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def __enter__(self) -> Rows:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- formats -------------------------------------------------------------------------

    def _open_csv(self) -> None:
        self._handle = _CountingReader(self.path.open("rb"))
        text = io.TextIOWrapper(
            io.BufferedReader(self._handle, 1 << 16), encoding="utf-8-sig", newline=""
        )
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            raise FileError(
                f"{self.path.name} is empty; the first line must name the columns"
            ) from None
        except UnicodeDecodeError as exc:
            raise FileError(
                f"{self.path.name} is not UTF-8 text ({exc}); save it as UTF-8"
            ) from None
        self.columns = _header(header, self.path)
        self._iter = self._csv_rows(reader)

    def _csv_rows(self, reader: Any) -> Iterator[dict[str, Any]]:
        columns = self.columns
        width = len(columns)
        try:
            for cells in reader:
                if not cells or (len(cells) == 1 and not cells[0]):
                    continue
                if len(cells) > width and any(cells[width:]):
                    raise FileError(
                        f"{self.path.name} line {reader.line_num} has {len(cells)} cells but "
                        f"the header names {width} columns; quote cells that hold commas"
                    )
                yield dict(zip(columns, cells, strict=False))
        except UnicodeDecodeError as exc:
            raise FileError(
                f"{self.path.name} is not UTF-8 text ({exc}); save it as UTF-8"
            ) from None

    def _open_xlsx(self) -> None:
        try:
            import openpyxl
        except ImportError:  # pragma: no cover - a dependency of relayflow
            raise FileError("reading XLSX needs openpyxl: pip install openpyxl") from None
        try:
            book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
            raise FileError(f"{self.path.name} is not an XLSX workbook ({exc})") from None
        self._handle = book
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        try:
            header = next(rows)
        except StopIteration:
            raise FileError(f"{self.path.name}: the first sheet is empty") from None
        self.columns = _header(["" if c is None else str(c) for c in header], self.path)
        if sheet.max_row:
            self.total = max(sheet.max_row - 1, 0)
        self._iter = self._xlsx_rows(rows)

    def _xlsx_rows(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
        columns = self.columns
        for cells in rows:
            self._read += 1
            if all(c is None or c == "" for c in cells):
                continue
            yield {col: cell for col, cell in zip(columns, cells, strict=False) if cell is not None}

    def _open_jsonl(self) -> None:
        self._handle = _CountingReader(self.path.open("rb"))
        lines = io.BufferedReader(self._handle, 1 << 16)
        first: dict[str, Any] | None = None
        number = 0
        for line in lines:
            number += 1
            if line.strip():
                first = _json_row(line, number, self.path)
                break
        if first is None:
            raise FileError(f"{self.path.name} has no JSON objects, one per line")
        self.columns = list(first)
        self._iter = self._jsonl_rows(first, lines, number)

    def _jsonl_rows(self, first: dict[str, Any], lines: Any, number: int) -> Iterator[dict]:
        yield first
        for line in lines:
            number += 1
            if line.strip():
                yield _json_row(line, number, self.path)


def _json_row(line: bytes, number: int, path: Path) -> dict[str, Any]:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise FileError(f"{path.name} line {number} is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise FileError(f"{path.name} line {number} is not a JSON object, one per line")
    return value


def _header(cells: list[str], path: Path) -> list[str]:
    columns = [cell.strip() for cell in cells]
    if not any(columns):
        raise FileError(f"{path.name}: the first row must name the columns")
    seen: set[str] = set()
    for column in columns:
        if column in seen and column:
            raise FileError(f"{path.name}: the column {column!r} appears twice in the header")
        seen.add(column)
    return columns


def file_format(path: Path) -> str:
    """csv, xlsx or jsonl, from the file name; FileError for anything else."""
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise FileError(
            f"{path.name}: relayflow reads .csv, .xlsx and .jsonl (JSON Lines) files; "
            "save the data in one of those"
        )
    return found


def open_rows(path: str | Path) -> Rows:
    """The rows of a CSV, XLSX or JSON Lines file; FileError if it cannot be read."""
    found = Path(path)
    if not found.is_file():
        raise FileError(f"no file {str(path)!r}")
    return Rows(found)
