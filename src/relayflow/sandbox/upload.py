"""POST /1/upload: validate each record with CleverTap's rules, then store the valid ones.

`?dryRun=1` validates and answers the same way without storing anything.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from relayflow.apps.clevertap.rules import (
    UploadError,
    check_record,
    unprocessed_entry,
    upload_records,
)
from relayflow.sandbox.store import SandboxStore
from relayflow.sandbox.web import JSONResponse, account_of, read_json, state_of

_TRUE = {"1", "true", "True", "yes"}


async def upload(request: Request) -> JSONResponse:
    state = state_of(request)
    body = await read_json(request)
    try:
        records = upload_records(body)
    except UploadError as exc:
        sent = body.get("d") if isinstance(body, dict) else None
        if isinstance(sent, list):
            state.stats.upload(len(sent), 0, 0)
        fail_body = {"status": "fail", "processed": 0, "unprocessed": [], "error": str(exc)}
        return JSONResponse({**fail_body, "code": 400}, status_code=400)
    dry_run = request.query_params.get("dryRun", "") in _TRUE
    store = None if dry_run else state.store
    result = await run_in_threadpool(_process, store, account_of(request), records)
    state.stats.upload(len(records), result["processed"], len(result["unprocessed"]))
    return JSONResponse(result)


def _process(store: SandboxStore | None, account: str, records: list[Any]) -> dict[str, Any]:
    valid = []
    unprocessed = []
    for number, record in enumerate(records, start=1):
        error = check_record(record)
        if error is None:
            valid.append(record)
        else:
            unprocessed.append(unprocessed_entry(record, error, number))
    if valid and store is not None:
        store.apply_upload(account, valid, int(time.time()))
    if not unprocessed:
        status = "success"
    elif valid:
        status = "partial"
    else:
        status = "fail"
    return {"status": status, "processed": len(valid), "unprocessed": unprocessed}


routes = [Route("/1/upload", upload, methods=["POST"])]
