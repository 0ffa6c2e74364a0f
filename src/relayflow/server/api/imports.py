"""`/api/v1/imports`: bulk imports of profiles or events into a CleverTap account.

    POST /imports/files        upload a file (multipart `file`): its columns and first rows
    POST /imports              start an import (or a dry run) of an uploaded file
    GET  /imports, /imports/{id}   jobs and their progress (rows, rows/s, rejected, status)
    POST /imports/{id}/resume  carry on a failed or interrupted import
    GET  /imports/{id}/rejected.csv   every rejected row with CleverTap's code and message

Jobs run as tasks in this server process and keep their journal in <home>/imports/<id>/
(the same as `relayflow import`), so after a restart they show as interrupted and resume
where they stopped. Files are kept in <home>/imports/files/.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from relayflow.accounts.store import AccountError, AccountStore
from relayflow.apps.clevertap import connect
from relayflow.apps.clevertap.bulk import BulkImport, ImportError_, ImportSpec, RowMapper
from relayflow.apps.clevertap.files import FORMATS, FileError, open_rows
from relayflow.apps.clevertap.journal import JobState, Journal, list_jobs
from relayflow.runtime import Runtime
from relayflow.server.api.deps import account_store_of, runtime_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["imports"])
SAMPLE_ROWS = 5
_ID = re.compile(r"^[a-z0-9]{8,32}$")


class NewImport(BaseModel):
    file: str = Field(description="The id POST /imports/files answered")
    account: str = Field(description="A CleverTap account's name")
    kind: Literal["profiles", "events"] = "profiles"
    identity: str = Field(description="The column that names the user")
    key: Literal["identity", "objectId", "email"] = "identity"
    mapping: dict[str, str] = Field({}, description='Column renames, e.g. {"plan": "Plan"}')
    types: dict[str, str] = Field({}, description="text, number, bool, date or json per column")
    event: str | None = Field(None, description="Events: the name, or the column holding it")
    ts: str | None = Field(None, description="Events: the column with when it happened")
    dry_run: bool = Field(False, description="Check every row; send nothing")


class ImportJobs:
    """The import tasks this server runs."""

    def __init__(self, home: Path) -> None:
        self.root = home / "imports"
        self.files = self.root / "files"
        self.running: dict[str, tuple[BulkImport, asyncio.Task[JobState]]] = {}

    def folder(self, job_id: str) -> Path:
        if not _ID.match(job_id):
            raise HTTPException(404, f"no import {job_id!r}")
        return self.root / job_id

    def uploaded(self, file_id: str) -> Path:
        folder = self.files / file_id if _ID.match(file_id) else None
        found = next(folder.iterdir(), None) if folder and folder.is_dir() else None
        if found is None:
            raise HTTPException(404, f"no uploaded file {file_id!r}; upload it again")
        return found

    def state(self, job_id: str) -> JobState:
        running = self.running.get(job_id)
        if running is not None:
            return running[0].state
        journal = Journal(self.folder(job_id))
        if not journal.exists():
            raise HTTPException(404, f"no import {job_id!r}")
        return journal.load()

    def launch(self, job: BulkImport, fields: dict[str, Any] | None) -> None:
        async def work() -> JobState:
            client = connect(fields) if fields is not None else None
            try:
                return await job.run(client)
            finally:
                if client is not None:
                    await client.aclose()

        task = asyncio.get_running_loop().create_task(work())
        self.running[job.state.id] = (job, task)
        task.add_done_callback(lambda t: self._done(job.state.id, t))

    def _done(self, job_id: str, task: asyncio.Task[JobState]) -> None:
        self.running.pop(job_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("import %s failed: %s", job_id, task.exception())


def jobs_of(request: Request, runtime: Runtime = Depends(runtime_of)) -> ImportJobs:
    jobs = getattr(request.app.state, "imports", None)
    if jobs is None:
        jobs = request.app.state.imports = ImportJobs(runtime.config.home)
    return jobs


@router.post("/imports/files", status_code=201, summary="Upload a CSV, XLSX or JSONL file")
async def upload_file(
    file: UploadFile = File(...), jobs: ImportJobs = Depends(jobs_of)
) -> dict[str, Any]:
    name = Path(file.filename or "upload").name
    if Path(name).suffix.lower() not in FORMATS:
        raise HTTPException(422, f"{name}: upload a .csv, .xlsx or .jsonl (JSON Lines) file")
    file_id = secrets.token_hex(8)
    target = jobs.files / file_id / name
    target.parent.mkdir(parents=True)
    with target.open("wb") as out:
        await asyncio.to_thread(shutil.copyfileobj, file.file, out, 1 << 20)
    try:
        columns, sample = await asyncio.to_thread(_preview, target)
    except FileError as exc:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise HTTPException(422, str(exc)) from None
    size = target.stat().st_size
    return {"file": file_id, "name": name, "size": size, "columns": columns, "sample": sample}


def _preview(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    with open_rows(path) as rows:
        sample = []
        for row in rows:
            sample.append(
                {k: v if isinstance(v, str | int | float) else str(v) for k, v in row.items()}
            )
            if len(sample) == SAMPLE_ROWS:
                break
        return rows.columns, sample


@router.post("/imports", status_code=201, summary="Import (or check) an uploaded file")
async def start_import(
    body: NewImport,
    jobs: ImportJobs = Depends(jobs_of),
    accounts: AccountStore = Depends(account_store_of),
) -> dict[str, Any]:
    path = jobs.uploaded(body.file)
    try:
        account = accounts.get(body.account)
    except AccountError as exc:
        raise HTTPException(exc.status, exc.message) from None
    if account.app != "clevertap":
        raise HTTPException(422, f"account {body.account!r} is not a CleverTap account")
    spec = ImportSpec(
        body.kind, body.identity, body.key, body.mapping, body.types, body.event, body.ts
    )
    try:
        with open_rows(path) as rows:
            RowMapper(spec, rows.columns)
    except (FileError, ImportError_) as exc:
        raise HTTPException(422, str(exc)) from None
    job_id = secrets.token_hex(6)
    job = BulkImport.start(jobs.folder(job_id), body.account, path, spec, dry_run=body.dry_run)
    jobs.launch(job, None if body.dry_run else account.values())
    return job.state.public()


@router.get("/imports", summary="Imports, newest first")
def list_imports(jobs: ImportJobs = Depends(jobs_of)) -> list[dict[str, Any]]:
    return [jobs.state(found.id).public() for found in list_jobs(jobs.root)]


@router.get("/imports/{job_id}", summary="One import and its progress")
def get_import(job_id: str, jobs: ImportJobs = Depends(jobs_of)) -> dict[str, Any]:
    return jobs.state(job_id).public()


@router.post("/imports/{job_id}/resume", status_code=202, summary="Carry on a stopped import")
async def resume_import(
    job_id: str,
    jobs: ImportJobs = Depends(jobs_of),
    accounts: AccountStore = Depends(account_store_of),
) -> dict[str, Any]:
    if job_id in jobs.running:
        raise HTTPException(409, f"import {job_id} is running")
    try:
        job = BulkImport.resume(jobs.folder(job_id))
        fields = None if job.state.dry_run else accounts.get(job.state.account).values()
    except ImportError_ as exc:
        raise HTTPException(409, str(exc)) from None
    except AccountError as exc:
        raise HTTPException(exc.status, exc.message) from None
    jobs.launch(job, fields)
    return job.state.public()


@router.get("/imports/{job_id}/rejected.csv", summary="The rejected rows, as CSV")
def rejected_rows(job_id: str, jobs: ImportJobs = Depends(jobs_of)) -> FileResponse:
    state = jobs.state(job_id)
    report = Journal(jobs.folder(job_id)).report_file
    if not report.exists():
        raise HTTPException(404, f"import {job_id} has no report yet")
    stem = Path(state.file_name).stem
    return FileResponse(report, media_type="text/csv", filename=f"{stem}-rejected.csv")
