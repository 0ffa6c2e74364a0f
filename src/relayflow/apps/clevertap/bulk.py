"""Bulk import of profiles or events from a file: checked, chunked, concurrent, resumable.

    spec = ImportSpec(kind="profiles", identity="user_id", mapping={"plan": "Plan"})
    job = BulkImport.start(home / "imports" / job_id, "clevertap-prod", path, spec)
    await job.run(client)          # or run(None) with dry_run=True: check only, send nothing

Rows stream from the file (relayflow.apps.clevertap.files); every 1000 rows are one chunk
and one upload request of the rows that pass CleverTap's rules; up to the account's
request limit are in flight (the slots shared with every relayflow process). Rows that
break a rule, and records CleverTap skips, go to the rejects report with CleverTap's code
and message. The journal (relayflow.apps.clevertap.journal) makes the import resumable.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from relayflow.apps.clevertap.files import FileError, open_rows
from relayflow.apps.clevertap.journal import CHUNK_ROWS, Counts, JobState, Journal
from relayflow.apps.clevertap.results import match_unprocessed
from relayflow.apps.clevertap.rules import check_record, is_email, to_clevertap_date
from relayflow.sdk import StepError

TYPES = ("text", "number", "bool", "date", "json")
KEYS = ("identity", "objectId", "email")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
_SKIP = object()
Reject = tuple[int, str, Any, str]  # row, identity, code, message


class ImportError_(ValueError):
    """An import that cannot start as asked; the message says what to change."""


@dataclass(frozen=True)
class ImportSpec:
    """What to import and how rows become records.

    `identity` is the column naming the user, as `key` (identity, objectId, or email for
    guests, sent as identity). Other columns become properties under their header, or as
    `mapping` renames them (a mapping to "" leaves a column out); `types` converts a
    column's text (number, bool, date, json). Events take their name from `event`, a
    column or else a constant name, and their time from the `ts` column.
    """

    kind: Literal["profiles", "events"]
    identity: str
    key: str = "identity"
    mapping: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    event: str | None = None
    ts: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RowMapper:
    """Turns rows into upload records for one spec and one file's columns."""

    def __init__(self, spec: ImportSpec, columns: list[str]) -> None:
        self.spec = spec
        problems = _problems(spec, columns)
        if problems:
            raise ImportError_("; ".join(problems))
        self._event_column = spec.event if spec.event in columns else None
        used = {spec.identity, spec.ts, self._event_column}
        self._fields = [
            (column, spec.mapping.get(column, column), spec.types.get(column))
            for column in columns
            if column and column not in used and spec.mapping.get(column, column) != ""
        ]

    def record(self, row: dict[str, Any]) -> dict[str, Any]:
        """The upload record of a row; ValueError saying what is wrong with the row."""
        spec = self.spec
        who = row.get(spec.identity)
        if who is None or str(who).strip() == "":
            raise ValueError(f"column {spec.identity!r} is empty: the row names no user")
        who = str(who).strip()
        if spec.key == "email" and not is_email(who):
            raise ValueError(f"{spec.identity} {who!r} is not an email address")
        record: dict[str, Any] = {"identity" if spec.key == "email" else spec.key: who}
        if spec.ts is not None and row.get(spec.ts) not in (None, ""):
            try:
                record["ts"] = int(to_clevertap_date(row[spec.ts])[3:])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"column {spec.ts!r}: {exc}") from None
        values: dict[str, Any] = {}
        for column, key, kind in self._fields:
            value = row.get(column)
            if value is None or value == "":
                continue
            converted = _convert(value, kind or _default_type(key), column)
            if converted is not _SKIP:
                values[key] = converted
        if spec.kind == "profiles":
            if spec.key == "email":
                values.setdefault("Email", who)
            record["type"] = "profile"
            record["profileData"] = values
        else:
            record["type"] = "event"
            name = row.get(self._event_column) if self._event_column else spec.event
            record["evtName"] = str(name).strip() if name is not None else ""
            record["evtData"] = values
        return record


def _problems(spec: ImportSpec, columns: list[str]) -> list[str]:
    listed = ", ".join(c for c in columns if c)
    problems = []
    if spec.identity not in columns:
        problems.append(f"--identity {spec.identity!r} is not a column; the columns are {listed}")
    if spec.key not in KEYS:
        problems.append(f"--key {spec.key!r}: use identity, objectId or email")
    for column in [*spec.mapping, *spec.types]:
        if column not in columns:
            problems.append(f"--map {column!r} is not a column; the columns are {listed}")
    for column, kind in spec.types.items():
        if kind not in TYPES:
            problems.append(f"--map {column}: type {kind!r} is not one of {', '.join(TYPES)}")
    if spec.ts is not None and spec.ts not in columns:
        problems.append(f"--ts {spec.ts!r} is not a column; the columns are {listed}")
    if spec.kind == "events" and not spec.event:
        problems.append("--event is needed: an event name, or the column holding it")
    return problems


def _default_type(key: str) -> str | None:
    if key == "Age":
        return "number"
    if key == "DOB":
        return "date"
    if key.startswith("MSG-"):
        return "bool"
    return None


def _convert(value: Any, kind: str | None, column: str) -> Any:
    if kind is None:
        if isinstance(value, date):
            return to_clevertap_date(value)
        return value
    text = str(value).strip()
    if kind == "text":
        return text
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        try:
            return int(text) if text.lstrip("-").isdigit() else float(text)
        except ValueError:
            raise ValueError(f"column {column!r}: {text!r} is not a number") from None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"column {column!r}: {text!r} is not true/false (or yes/no, 1/0)")
    if kind == "date":
        try:
            return to_clevertap_date(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"column {column!r}: {exc}") from None
    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValueError(f"column {column!r}: {text[:60]!r} is not JSON") from None


@dataclass
class Chunk:
    number: int
    first_row: int
    rows: int
    records: list[dict[str, Any]]
    record_rows: list[int]
    rejects: list[Reject]


def chunks(rows: Iterator[dict[str, Any]], mapper: RowMapper, skip: set[int]) -> Iterator[Chunk]:
    """The file's rows 1000 at a time, checked; chunks in `skip` are read but not built."""
    number, batch = 0, []
    row_number = 0
    for row in rows:
        row_number += 1
        batch.append(row)
        if len(batch) == CHUNK_ROWS:
            yield _chunk(number, row_number - len(batch) + 1, batch, mapper, number in skip)
            number, batch = number + 1, []
    if batch:
        yield _chunk(number, row_number - len(batch) + 1, batch, mapper, number in skip)


def _chunk(number: int, first: int, rows: list[dict], mapper: RowMapper, skipped: bool) -> Chunk:
    chunk = Chunk(number, first, len(rows), [], [], [])
    if skipped:
        return chunk
    identity = mapper.spec.identity
    for offset, row in enumerate(rows):
        row_number = first + offset
        try:
            record = mapper.record(row)
        except ValueError as exc:
            chunk.rejects.append((row_number, row.get(identity) or "", "", str(exc)))
            continue
        error = check_record(record)
        if error is not None:
            chunk.rejects.append((row_number, row.get(identity) or "", error.code, error.message))
            continue
        chunk.records.append(record)
        chunk.record_rows.append(row_number)
    return chunk


Progress = Callable[[JobState], None]


class BulkImport:
    """One import: its journal folder, its file and how far it got."""

    def __init__(self, journal: Journal, state: JobState) -> None:
        self.journal = journal
        self.state = state

    @classmethod
    def start(
        cls,
        folder: Path,
        account: str,
        path: Path,
        spec: ImportSpec,
        *,
        dry_run: bool = False,
        job_id: str | None = None,
    ) -> BulkImport:
        """A new import (an earlier one in `folder` is replaced)."""
        stat = path.stat()
        state = JobState(
            id=job_id or folder.name,
            account=account,
            file=str(path.resolve()),
            file_name=path.name,
            file_size=stat.st_size,
            file_mtime=stat.st_mtime,
            spec=spec.as_dict(),
            dry_run=dry_run,
        )
        journal = Journal(folder)
        journal.save(state)
        return cls(journal, state)

    @classmethod
    def resume(cls, folder: Path) -> BulkImport:
        """The unfinished import in `folder`; ImportError_ if it cannot be resumed."""
        journal = Journal(folder)
        if not journal.exists():
            raise ImportError_(f"there is no import in {folder} to resume")
        state = journal.load()
        if state.status in ("done", "checked"):
            raise ImportError_(f"import {state.id} finished already ({state.status})")
        try:
            stat = os.stat(state.file)
        except OSError:
            raise ImportError_(f"import {state.id}: its file {state.file} is gone") from None
        if (stat.st_size, stat.st_mtime) != (state.file_size, state.file_mtime):
            raise ImportError_(
                f"{state.file_name} changed since import {state.id} started, so resuming "
                "would skip the wrong rows; start it afresh"
            )
        return cls(journal, state)

    @property
    def spec(self) -> ImportSpec:
        return ImportSpec(**self.state.spec)

    async def run(self, client: Any, on_progress: Progress | None = None) -> JobState:
        """Import (or with dry_run only check) every row; returns the final state.

        A request that fails for good (after the client's retries) stops the import as
        `failed`, resumable; cancelling it (Ctrl-C) leaves it `interrupted`.
        """
        state, journal = self.state, self.journal
        done = journal.finished_chunks()
        resuming = bool(done) or state.status in ("failed", "interrupted")
        state.counts = Counts()
        for counts in done.values():
            state.counts.add(counts)
        state.status, state.error, state.pid = "running", None, os.getpid()
        state.started_at = state.started_at or time.time()
        journal.open(resuming, set(done))
        journal.save(state)
        runner = _Runner(self, client, on_progress, set(done))
        try:
            await runner.run()
            state.status = "checked" if state.dry_run else "done"
        except asyncio.CancelledError:
            state.status = "interrupted"
            raise
        except (StepError, FileError, ImportError_) as exc:
            state.status, state.error = "failed", str(exc)
        finally:
            state.finished_at = time.time()
            state.fraction = 1.0 if state.status in ("done", "checked") else state.fraction
            journal.close()
            journal.save(state)
            if on_progress is not None:
                on_progress(state)
        return state


class _Runner:
    def __init__(self, job: BulkImport, client: Any, on_progress: Progress | None, skip: set):
        self.job = job
        self.client = client
        self.on_progress = on_progress
        self.skip = skip
        self.failure: Exception | None = None
        self.started = time.monotonic()
        self.rows_before = job.state.counts.rows
        self.saved = 0.0

    async def run(self) -> None:
        limit = self.client.max_in_flight if self.client is not None else 1
        room = asyncio.Semaphore(limit)
        tasks: set[asyncio.Task[None]] = set()
        with open_rows(self.job.state.file) as rows:
            mapper = RowMapper(self.job.spec, rows.columns)
            pending = chunks(iter(rows), mapper, self.skip)
            try:
                while self.failure is None:
                    # Reading and checking 1000 rows takes a few ms of CPU: in a thread, so
                    # the event loop (a server's, with its webhooks) keeps answering.
                    chunk = await asyncio.to_thread(next, pending, None)
                    if chunk is None:
                        break
                    self.job.state.fraction = rows.done()
                    if chunk.number in self.skip:
                        continue
                    if not chunk.records or self.client is None:
                        self._finish(chunk, 0, [])
                        continue
                    await room.acquire()
                    task = asyncio.get_running_loop().create_task(self._send(chunk))
                    tasks.add(task)
                    task.add_done_callback(lambda t: (tasks.discard(t), room.release()))
                    await asyncio.sleep(0)  # let answers in between chunks
                if tasks:
                    await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.gather(*tasks, return_exceptions=True)
        if self.failure is not None:
            raise self.failure

    async def _send(self, chunk: Chunk) -> None:
        try:
            response = await self.client.send("POST", "/1/upload", body={"d": chunk.records})
            self.client.raise_for_status(response, "POST", "/1/upload")
        except StepError as exc:
            if self.failure is None:
                self.failure = StepError(
                    f"rows {chunk.first_row}-{chunk.first_row + chunk.rows - 1}: {exc}; the "
                    "import stopped there and can be resumed",
                    details=exc.details,
                )
            return
        outcomes, _ = match_unprocessed(chunk.records, response.body)
        skipped = []
        for row_number, record, outcome in zip(
            chunk.record_rows, chunk.records, outcomes, strict=True
        ):
            if outcome is not None:
                identity = record.get("identity") or record.get("objectId") or ""
                skipped.append((row_number, identity, outcome.get("code"), outcome.get("error")))
        self._finish(chunk, len(chunk.records), skipped)

    def _finish(self, chunk: Chunk, sent: int, skipped: list[Reject]) -> None:
        rejects = sorted([*chunk.rejects, *skipped])
        counts = Counts(
            rows=chunk.rows,
            sent=sent,
            processed=sent - len(skipped),
            rejected=len(rejects),
        )
        self.job.journal.finish_chunk(chunk.number, counts, rejects)
        state = self.job.state
        state.counts.add(counts)
        elapsed = time.monotonic() - self.started
        state.rows_per_second = (state.counts.rows - self.rows_before) / elapsed if elapsed else 0
        if self.on_progress is not None:
            self.on_progress(state)
        if time.monotonic() - self.saved > 1.0:
            self.saved = time.monotonic()
            self.job.journal.save(state)
