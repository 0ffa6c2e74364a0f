"""The new records of a CSV file, read from the byte offset where the last poll stopped.

Each record comes with the offset after it, so a poll resumes on the next byte and a
million-row file is read once, a line at a time. A line that is not a record (bad
quoting, the wrong number of fields, bytes that are not UTF-8) is reported by file and
line and skipped; the records after it are read as usual. A file whose start or last
read record changed since (rewritten, truncated, reordered) is reported and read again
only from its new end.
"""

from __future__ import annotations

import csv
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

HEAD = 4096  # bytes at the start of a file whose hash tells a rewritten file
SAMPLE = 64 * 1024  # bytes the dialect is sniffed from
SETTLE = 2.0  # seconds a last line without a newline must be left alone to count as written
DELIMITERS = ",;\t|"

# One step of reading: ("row", fields, row number) or ("problem", reason, None).
Step = tuple[str, Any, int | None]


def new_entry() -> dict[str, Any]:
    """Where reading a file starts: its first byte."""
    return {
        "offset": 0,
        "line": 0,
        "records": 0,
        "size": -1,
        "mtime_ns": 0,
        "head": None,
        "head_len": 0,
        "last_start": 0,
        "last_hash": None,
        "header": None,
        "dialect": None,
    }


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def changed(path: Path, entry: dict[str, Any]) -> bool:
    """Whether the file differs from when it was last read (size or modification time)."""
    stat = path.stat()
    return stat.st_size != entry["size"] or stat.st_mtime_ns != entry["mtime_ns"]


def rewritten(path: Path, entry: dict[str, Any]) -> str | None:
    """Why the part of the file already read is no longer what was read, or None."""
    if entry["offset"] == 0:
        return None
    with path.open("rb") as file:
        return _rewritten(file, entry, os.fstat(file.fileno()).st_size)


def _rewritten(file: BinaryIO, entry: dict[str, Any], size: int) -> str | None:
    if size < entry["offset"]:
        return f"it is shorter ({size:,} bytes) than the {entry['offset']:,} bytes already read"
    file.seek(0)
    if entry["head"] is not None and _digest(file.read(entry["head_len"])) != entry["head"]:
        return "its first lines changed"
    file.seek(entry["last_start"])
    last = file.read(entry["offset"] - entry["last_start"])
    if entry["last_hash"] is not None and _digest(last) != entry["last_hash"]:
        return "the last row read from it changed (rows were reordered or replaced)"
    return None


class _Lines:
    """The file's complete lines for csv.reader, counting bytes and lines as it goes."""

    __slots__ = ("file", "offset", "line", "settled", "held", "raws", "start", "start_line")

    def __init__(self, file: BinaryIO, offset: int, line: int, settled: bool) -> None:
        self.file = file
        self.offset = offset
        self.line = line
        self.settled = settled
        self.held = False
        self.raws: list[bytes] = []
        self.start = offset
        self.start_line = line + 1

    def begin(self) -> None:
        self.raws = []
        self.start = self.offset
        self.start_line = self.line + 1

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = self.file.readline()
        if not raw:
            raise StopIteration
        if raw[-1:] != b"\n" and not self.settled:
            self.held = True  # still being written: the next poll reads it whole
            raise StopIteration
        first = self.offset == 0
        self.offset += len(raw)
        self.line += 1
        self.raws.append(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _NotUtf8(self.line, exc) from None
        return text[1:] if first and text.startswith("\ufeff") else text


class _NotUtf8(Exception):
    def __init__(self, line: int, exc: UnicodeDecodeError) -> None:
        super().__init__(f"line {line}: not UTF-8 text (byte {exc.start + 1} of the line)")
        self.line = line


def sniff(file: BinaryIO, delimiter: str | None) -> dict[str, Any]:
    """The file's dialect: `delimiter` when given, else what csv.Sniffer makes of its start."""
    if delimiter:
        return {"delimiter": delimiter, "quotechar": '"', "doublequote": True}
    file.seek(0)
    sample = file.read(SAMPLE).decode("utf-8", "replace").lstrip("\ufeff")
    cut = sample.rfind("\n")
    sample = sample[: cut + 1] if cut > 0 else sample
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        return {"delimiter": ",", "quotechar": '"', "doublequote": True}
    return {
        "delimiter": found.delimiter,
        "quotechar": found.quotechar or '"',
        # The sniffer says False whenever its sample has no "" in it; "" is the standard.
        "doublequote": found.escapechar is None,
        "escapechar": found.escapechar,
        "skipinitialspace": found.skipinitialspace,
    }


def read(
    path: Path, entry: dict[str, Any], header: bool, delimiter: str | None
) -> Iterator[Step]:
    """The records after `entry`'s offset, updating `entry` as each one is read."""
    with path.open("rb") as file:
        stat = os.fstat(file.fileno())
        if entry["dialect"] is None:
            entry["dialect"] = sniff(file, delimiter)
        settled = time.time() - stat.st_mtime > SETTLE
        lines = _Lines(file, entry["offset"], entry["line"], settled)
        file.seek(entry["offset"])
        yield from _records(file, lines, entry, header)
        entry["size"] = stat.st_size if not lines.held else -1
        entry["mtime_ns"] = stat.st_mtime_ns
        if entry["head_len"] < min(HEAD, entry["offset"]):
            file.seek(0)
            entry["head_len"] = min(HEAD, entry["offset"])
            entry["head"] = _digest(file.read(entry["head_len"]))


def _records(
    file: BinaryIO, lines: _Lines, entry: dict[str, Any], header: bool
) -> Iterator[Step]:
    dialect = entry["dialect"]
    reader = csv.reader(lines, strict=True, **dialect)
    while True:
        lines.begin()
        try:
            fields = next(reader)
            problem = None
        except StopIteration:
            return
        except csv.Error as exc:
            if lines.held:
                return  # a record still being written
            fields, problem = None, str(exc)
        except _NotUtf8 as exc:
            reader = csv.reader(lines, strict=True, **dialect)
            reason = str(exc).removeprefix(f"line {exc.line}: ")
            yield _skip(entry, lines, b"".join(lines.raws), reason, exc.line)
            continue
        if fields is not None and header and entry["header"] is not None:
            width = len(entry["header"])
            while len(fields) > width and fields[-1] == "":
                fields.pop()
            if len(fields) != width:
                count = f"{len(fields)} field{'s' * (len(fields) != 1)}"
                problem = f"{count} where the header has {width} ({', '.join(entry['header'])})"
        if problem is not None:
            skipped = b"".join(lines.raws)
            if len(lines.raws) > 1:
                quote = dialect["quotechar"].encode()
                if lines.raws[0].count(quote) % 2:
                    problem = f"a quote ({dialect['quotechar']}) opened on this line is not closed"
                # A record over several lines that does not fit (an unclosed quote swallows
                # the lines after it): the first line is the bad one; read on after it.
                skipped = lines.raws[0]
                lines.offset, lines.line = lines.start + len(skipped), lines.start_line
                file.seek(lines.offset)
                reader = csv.reader(lines, strict=True, **dialect)
            yield _skip(entry, lines, skipped, problem, lines.start_line)
            continue
        _advance(entry, lines)
        if not fields:
            continue  # a blank line
        if header and entry["header"] is None:
            entry["header"] = header_names(fields)
            continue
        yield ("row", fields, entry["records"])


def _advance(entry: dict[str, Any], lines: _Lines) -> None:
    entry["offset"], entry["line"] = lines.offset, lines.line
    if lines.raws:
        entry["records"] += 1
        entry["last_start"] = lines.start
        entry["last_hash"] = _digest(b"".join(lines.raws))


def _skip(entry: dict[str, Any], lines: _Lines, skipped: bytes, problem: str, line: int) -> Step:
    entry["offset"], entry["line"] = lines.offset, lines.line
    entry["records"] += 1
    entry["last_start"], entry["last_hash"] = lines.start, _digest(skipped)
    return ("problem", f"line {line}: {problem}", None)


def header_names(fields: list[str]) -> list[str]:
    """Header names, each unique and none empty (`column 3`, `email_2`)."""
    names: list[str] = []
    for index, raw in enumerate(fields, start=1):
        name = raw.strip() or f"column {index}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names
