"""`/hooks/<path>`: turn any HTTP request into an event, acknowledged once it is durable.

Checks happen before anything is stored: unknown or paused path (404), bearer token
(401), body size (413), a signature (401, `verify:` or an app's source), JSON syntax and
depth (400). Only then are the event and its run committed (grouped with other requests)
and the 200 sent; a delivery whose idempotency key was seen within its window is
acknowledged and stores nothing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import logging
import os
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from relayflow import metrics
from relayflow.engine import links
from relayflow.model.workflow import HttpTrigger
from relayflow.runtime import Runtime
from relayflow.sdk import Delivery, HttpResponse, Refused
from relayflow.store.workflows import WorkflowRow
from relayflow.triggers.webhooks import http_event, receive_from_source, verify_http

JSON_TYPES = ("application/json", "+json")
log = logging.getLogger(__name__)
ANSWER_POLL_SECONDS = 0.05
MAX_FORM_PARTS = 1000  # fields, and files, in one multipart body


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _refuse(status: int, message: str, **extra: Any) -> JSONResponse:
    metrics.hook_rejected.labels(str(status)).inc()
    return JSONResponse({"error": message, **extra}, status_code=status)


def _expected_token(trigger: HttpTrigger) -> str | None:
    token = trigger.token
    if token and token.startswith("env:"):
        return os.environ.get(token[4:])
    return token


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) when it and the headers, both stored in the event, are
    more than `limit` bytes together."""
    headers = sum(len(name) + len(value) for name, value in request.headers.raw)
    allowed = limit - headers
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > allowed:
        raise BadRequest(413, _too_large(f"{declared} bytes", headers, limit))
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > allowed:
                raise BadRequest(413, _too_large(f"more than {allowed} bytes", headers, limit))
            chunks.append(chunk)
    except ClientDisconnect:  # or a read timeout (server/protocol.py answered 408)
        raise BadRequest(400, "the connection closed before the body was complete") from None
    return b"".join(chunks)


def _too_large(body: str, headers: int, limit: int) -> str:
    return (
        f"the body is {body} and the headers {headers} bytes; this endpoint accepts"
        f" {limit} bytes of body and headers together"
    )


def _depth_ok(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


async def _parse_body(request: Request, raw: bytes, max_depth: int) -> tuple[Any, dict]:
    """The event's `body`, plus extra fields (e.g. `body_base64` for binary data)."""
    if not raw:
        return None, {}
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype.endswith(JSON_TYPES) or ctype == "application/json":
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(
                400, f"the body is not valid JSON ({exc}); fix it or send another Content-Type"
            ) from None
        if not _depth_ok(body, max_depth):
            raise BadRequest(400, f"the JSON body is nested deeper than {max_depth} levels")
        return body, {}
    if ctype == "application/x-www-form-urlencoded":
        return _fields(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)), {}
    if ctype == "multipart/form-data":
        request._body = raw  # noqa: SLF001 - let Starlette parse the body we already read
        form = await _read_form(request)
        items = []
        for key, value in form.multi_items():
            if isinstance(value, str):
                items.append((key, value))
            else:
                content = await value.read()
                items.append(
                    (
                        key,
                        {
                            "filename": value.filename,
                            "content_type": value.content_type,
                            "size": len(content),
                        },
                    )
                )
        return _fields(items), {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, {"body_base64": base64.b64encode(raw).decode()}
    if not ctype and text[:1] in "{[":
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return text, {}
        if _depth_ok(parsed, max_depth):
            return parsed, {}
    return text, {}


async def _read_form(request: Request) -> FormData:
    try:
        return await request.form(max_files=MAX_FORM_PARTS, max_fields=MAX_FORM_PARTS)
    except (MultiPartException, HTTPException) as exc:
        message = getattr(exc, "message", None) or getattr(exc, "detail", str(exc))
        if "boundary" in message:
            raise BadRequest(
                400,
                "the multipart body has no boundary: send Content-Type:"
                " multipart/form-data; boundary=<the separator your parts use>",
            ) from None
        for kind in ("fields", "files"):
            if f"Too many {kind}" in message:
                raise BadRequest(
                    413,
                    f"the multipart body has more than {MAX_FORM_PARTS} {kind};"
                    " send fewer, or JSON",
                ) from None
        raise BadRequest(400, f"the multipart body cannot be read: {message}") from None


def _fields(items: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in items:
        if key in out:
            existing = out[key]
            out[key] = existing + [value] if isinstance(existing, list) else [existing, value]
        else:
            out[key] = value
    return out


def client_ip(request: Request) -> str | None:
    """The peer's address; behind RELAYFLOW_TRUSTED_PROXIES, uvicorn has already put the
    client's from X-Forwarded-For there (anyone else's X-Forwarded-For is just a header)."""
    return request.client.host if request.client else None


def _delivery(request: Request, path: str, raw: bytes) -> Delivery:
    return Delivery(
        method=request.method,
        path="/" + path,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=_fields(parse_qsl(request.url.query, keep_blank_values=True)),
        body=raw,
        client_ip=client_ip(request),
        url=str(request.url),
    )


def _raw_body(raw: bytes) -> dict[str, str]:
    """The exact bytes received: as text when they are UTF-8 (lossless), else base64."""
    try:
        return {"raw_body": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"raw_body_base64": base64.b64encode(raw).decode()}


def make_hook_endpoint(runtime: Runtime):
    config = runtime.config

    async def hook(request: Request) -> Response:
        path = request.path_params["path"].strip("/")
        if path.startswith("_runs/"):
            return await _run_link(request, path)
        workflow = runtime.catalog.routes.get(path)
        if workflow is None or not workflow.active:
            state = "paused" if workflow is not None else "unknown"
            return _refuse(404, f"no active workflow listens on /hooks/{path} ({state})")
        if request.method == "OPTIONS":
            return Response(
                status_code=204,
                headers={
                    "access-control-allow-origin": "*",
                    "access-control-allow-methods": "*",
                    "access-control-allow-headers": "*",
                },
            )
        compiled = runtime.catalog.compiled(workflow.id, workflow.current_version)
        if compiled.workflow.trigger.source is not None:
            return await _from_source(request, path, workflow, compiled)
        trigger = compiled.workflow.trigger.http
        assert trigger is not None
        if trigger.auth == "token":
            expected = _expected_token(trigger)
            # bytes: compare_digest refuses str with non-ASCII characters (a 500)
            given = request.headers.get("authorization", "").encode("latin-1")
            if not expected or not hmac.compare_digest(given, f"Bearer {expected}".encode()):
                return _refuse(401, "this endpoint needs Authorization: Bearer <token>")
        try:
            raw = await _read_body(request, config.body_limit)
            if trigger.verify is not None:
                verify_http(trigger, _delivery(request, path, raw), runtime.accounts)
            body, extra = await _parse_body(request, raw, config.max_json_depth)
        except BadRequest as exc:
            return _refuse(exc.status, exc.message)
        except Refused as exc:
            await runtime.log_refusal(workflow.id, exc.reason)
            return _refuse(exc.status, exc.reason)
        event = {
            "method": request.method,
            "path": "/" + path,
            "query": _fields(parse_qsl(request.url.query, keep_blank_values=True)),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body,
            **extra,
            **(_raw_body(raw) if trigger.raw_body else {}),
            "client_ip": client_ip(request),
            "url": str(request.url),
        }
        key = None
        if compiled.idempotency_key is not None:
            try:
                key = http_event(compiled, event).key
            except Refused as exc:
                return _refuse(exc.status, exc.reason)
        window = trigger.dedupe_window
        if trigger.respond == "immediately":
            new = await runtime.ingest(workflow, event, key=key, window=window)
            if new is None:
                return JSONResponse({"ok": True, "duplicate": True, "key": key})
            return JSONResponse({"ok": True, "event_id": new.event_id, "run_id": new.run_id})
        waiting: asyncio.Future[HttpResponse | None] = asyncio.get_running_loop().create_future()
        new = await runtime.ingest(workflow, event, response=waiting, key=key, window=window)
        if new is None:
            return JSONResponse({"ok": True, "duplicate": True, "key": key})
        try:
            answer = await _wait_for_answer(runtime, new.run_id, waiting, trigger.response_timeout)
        except TimeoutError:
            waiting.cancel()
            return JSONResponse(
                {
                    "error": f"the workflow did not respond within {trigger.response_timeout:g}s;"
                    " the run goes on",
                    "event_id": new.event_id,
                    "run_id": new.run_id,
                },
                status_code=504,
            )
        if answer is None:
            return JSONResponse(
                {
                    "error": "the workflow ended without an http.respond step answering",
                    "event_id": new.event_id,
                    "run_id": new.run_id,
                },
                status_code=502,
            )
        return _to_response(answer)

    async def _from_source(
        request: Request, path: str, workflow: WorkflowRow, compiled: Any
    ) -> Response:
        try:
            raw = await _read_body(request, config.body_limit)
        except BadRequest as exc:
            return _refuse(exc.status, exc.message)
        status, answer = await accept_source_delivery(
            runtime, workflow, compiled, _delivery(request, path, raw)
        )
        if isinstance(answer, HttpResponse):
            return _to_response(answer)
        if status >= 400:
            return _refuse(status, answer["error"])
        return JSONResponse(answer, status_code=status)

    async def _run_link(request: Request, path: str) -> Response:
        parts = path.split("/")
        if len(parts) != 3 or parts[2] not in links.ACTIONS:
            return _refuse(404, f"no such link: /hooks/{path}")
        run_id, action = parts[1], parts[2]
        query = request.query_params
        expires = query.get("exp", "")
        step = query.get("step", "")
        if not step or not expires.isdigit():
            return _refuse(
                403,
                "this link has no step or expiry (step=, exp=); use the"
                " resume_url or cancel_url the delay gave",
            )
        signed = links.SignedLink(run_id, step, action, int(expires))
        if not links.verify(config, signed, query.get("sig", "")):
            return _refuse(403, "this link's signature is not valid for that run and step")
        if signed.expires < time.time():
            return _refuse(410, f"this link expired at {signed.expires} (unix time)")
        if not await runtime.control_link(run_id, step, action):
            return _refuse(
                409, f"run {run_id} is not sleeping at step {step}, so it cannot be {action}d"
            )
        return JSONResponse({"ok": True, "run_id": run_id, "step": step, "action": action})

    return hook


async def accept_source_delivery(
    runtime: Runtime, workflow: WorkflowRow, compiled: Any, delivery: Delivery
) -> tuple[int, dict[str, Any] | HttpResponse]:
    """A delivery to an app's webhook source: verified, then deduplicated, then run.

    The answer is (status, JSON body), or the app's own HttpResponse when its source
    gives one; a refused delivery is (4xx/5xx, {"error": reason}) and stores no event.
    """
    trigger = compiled.workflow.trigger.source
    try:
        received = receive_from_source(compiled, trigger, delivery, runtime.accounts)
    except Refused as exc:
        await runtime.log_refusal(workflow.id, exc.reason)
        return exc.status, {"error": exc.reason}
    except Exception as exc:  # noqa: BLE001 - the app retries; we say why and log it
        log.exception("source %s could not read a delivery", compiled.source.key)
        reason = f"{compiled.source.key} could not read this delivery: {exc!r}"
        await runtime.log_refusal(workflow.id, reason)
        return 500, {"error": reason}
    window = trigger.dedupe_window or compiled.source.dedupe_window
    outcome = await runtime.ingest_delivery(workflow, received, window, "source")
    if received.response is not None:
        return received.response.status, received.response
    return 200, {
        "ok": True,
        "accepted": len(outcome.runs),
        "duplicates": outcome.duplicates,
        "ignored": outcome.ignored,
        "event_ids": [new.event_id for new in outcome.runs],
        "run_ids": [new.run_id for new in outcome.runs],
    }


async def _wait_for_answer(
    runtime: Runtime,
    run_id: str,
    waiting: asyncio.Future[HttpResponse | None],
    timeout: float,
) -> HttpResponse | None:
    """The answer of a run executed here (a future), or by another process (the database:
    looked up when that process says it is there, and every 50 ms in case it cannot)."""
    if not runtime.answers_elsewhere:
        return await asyncio.wait_for(asyncio.shield(waiting), timeout)
    nudged = runtime.responses.nudged(run_id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            if waiting.done():
                return waiting.result()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(ANSWER_POLL_SECONDS, remaining)):
                    await nudged.wait()
            nudged.clear()
            found = await runtime.answer_from_database(run_id)
            if found is not False:
                return found  # type: ignore[return-value]
    finally:
        runtime.responses.forget(run_id)


def _to_response(answer: HttpResponse) -> Response:
    body = answer.body
    headers = dict(answer.headers)
    if isinstance(body, dict | list) or body is None:
        return JSONResponse(body, status_code=answer.status, headers=headers)
    if isinstance(body, bytes):
        return Response(body, status_code=answer.status, headers=headers)
    media = headers.pop("content-type", None) or "text/plain; charset=utf-8"
    return Response(str(body), status_code=answer.status, headers=headers, media_type=media)
