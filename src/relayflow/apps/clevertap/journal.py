"""The folder of one bulk import: its settings and state, finished chunks, rejected rows.

    <home>/imports/<id>/
        job.json       what is imported, how, and how far it got (rewritten atomically)
        chunks.jsonl   one line per finished chunk of 1000 rows, appended and flushed
        rejected.csv   every rejected row: row, identity, code, error (in the order the
                       chunks finished; `row` counts data rows from 1, the header not)

A chunk is journaled only after CleverTap answered for it (and after its rejected rows
were written), so after a crash or Ctrl-C a resumed import sends again exactly the chunks
that were in flight, and its report keeps only the rejects of journaled chunks.
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CHUNK_ROWS = 1000
REPORT_COLUMNS = ("row", "identity", "code", "error")
FINAL = ("done", "checked", "failed", "interrupted")


@dataclass
class Counts:
    """How far an import got: data rows read, records sent, CleverTap's answers."""

    rows: int = 0
    sent: int = 0
    processed: int = 0
    rejected: int = 0

    def add(self, other: Counts) -> None:
        self.rows += other.rows
        self.sent += other.sent
        self.processed += other.processed
        self.rejected += other.rejected


@dataclass
class JobState:
    """job.json: an import's settings and state."""

    id: str
    account: str
    file: str
    file_name: str
    file_size: int
    file_mtime: float
    spec: dict[str, Any]
    dry_run: bool = False
    status: str = "queued"  # queued, running, done, checked (dry run), failed, interrupted
    error: str | None = None
    counts: Counts = field(default_factory=Counts)
    fraction: float = 0.0
    rows_per_second: float = 0.0
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    pid: int | None = None

    def public(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobState:
        counts = Counts(**data.pop("counts", {}))
        known = {f for f in cls.__dataclass_fields__}
        return cls(counts=counts, **{k: v for k, v in data.items() if k in known})


class Journal:
    """Reads and writes one import's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.job_file = folder / "job.json"
        self.chunks_file = folder / "chunks.jsonl"
        self.report_file = folder / "rejected.csv"
        self._chunks: Any = None
        self._report: Any = None
        self._writer: Any = None

    def exists(self) -> bool:
        return self.job_file.exists()

    def load(self) -> JobState:
        state = JobState.from_dict(json.loads(self.job_file.read_text()))
        if state.status == "running" and not _alive(state.pid):
            state.status = "interrupted"  # its process died (a crash, a kill, a restart)
        return state

    def save(self, state: JobState) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.job_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state.public(), indent=2))
        os.replace(temporary, self.job_file)

    def finished_chunks(self) -> dict[int, Counts]:
        """The chunks CleverTap answered for, with their counts."""
        done: dict[int, Counts] = {}
        if not self.chunks_file.exists():
            return done
        with self.chunks_file.open() as lines:
            for line in lines:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash: that chunk is sent again
                done[entry["chunk"]] = Counts(**entry["counts"])
        return done

    def open(self, resume: bool, keep: set[int]) -> None:
        """Open the chunk log and the report for appending; on a fresh start empty them,
        on a resume keep only the rejects of the chunks in `keep`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not resume:
            self.chunks_file.unlink(missing_ok=True)
            self.report_file.unlink(missing_ok=True)
        elif self.report_file.exists():
            self._keep_report_rows(keep)
        new_report = not self.report_file.exists()
        self._chunks = self.chunks_file.open("a")
        self._report = self.report_file.open("a", newline="")
        self._writer = csv.writer(self._report)
        if new_report:
            self._writer.writerow(REPORT_COLUMNS)
            self._report.flush()

    def _keep_report_rows(self, keep: set[int]) -> None:
        kept = self.report_file.with_suffix(".tmp")
        with self.report_file.open(newline="") as old, kept.open("w", newline="") as new:
            reader, writer = csv.reader(old), csv.writer(new)
            writer.writerow(next(reader, REPORT_COLUMNS))
            for row in reader:
                if row and row[0].isdigit() and (int(row[0]) - 1) // CHUNK_ROWS in keep:
                    writer.writerow(row)
        os.replace(kept, self.report_file)

    def finish_chunk(self, chunk: int, counts: Counts, rejects: list[tuple[Any, ...]]) -> None:
        """Write a chunk's rejected rows, then the chunk itself (in that order)."""
        if rejects:
            self._writer.writerows(rejects)
            self._report.flush()
        self._chunks.write(json.dumps({"chunk": chunk, "counts": asdict(counts)}) + "\n")
        self._chunks.flush()

    def close(self) -> None:
        for handle in (self._chunks, self._report):
            if handle is not None:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
        self._chunks = self._report = self._writer = None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_jobs(imports: Path) -> list[JobState]:
    """Every import under `<home>/imports`, newest first."""
    found = []
    for job_file in imports.glob("*/job.json"):
        try:
            found.append(Journal(job_file.parent).load())
        except (OSError, ValueError, TypeError, KeyError):
            continue
    return sorted(found, key=lambda s: s.created_at, reverse=True)
