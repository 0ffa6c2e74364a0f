"""An async CleverTap API client for one account: auth, retries, slots, batched uploads.

- Every request carries the account's headers and waits for one of the account's request
  slots (15, the concurrency CleverTap allows an account), shared by every process of the
  installation (relayflow.sdk.slots), so a server and its workers together stay within it.
- 429, 5xx, timeouts and connection errors are retried with exponential backoff and
  jitter (honouring `Retry-After`) within a bounded time; then the step fails with a
  retryable error, so a workflow with `retries:` keeps the event and tries again later.
  Other 4xx answers are never retried; 401 says to check the Account ID, Passcode and region.
- `upload(record)` checks the record against CleverTap's rules, then hands it to the
  account's batcher, which coalesces records from all concurrent runs; the caller gets its
  own record's result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from relayflow.apps.clevertap.batching import upload_batcher
from relayflow.apps.clevertap.messages import TriggerSend
from relayflow.apps.clevertap.results import match_unprocessed, record_error, rule_error
from relayflow.apps.clevertap.retries import RequestRetries, retry_after_seconds
from relayflow.apps.clevertap.rules import (
    MAX_CONCURRENT_REQUESTS,
    MAX_RECORDS_PER_UPLOAD,
    check_record,
)
from relayflow.apps.clevertap.sending import MessageSender
from relayflow.sdk import StepError, http_session, metrics, query_values, shared_slots

REQUESTS = metrics.counter(
    "clevertap_requests", "Requests sent to CleverTap, by HTTP status", ["status"]
)
RECORDS = metrics.counter("clevertap_records", "Records sent to CleverTap, by outcome", ["outcome"])
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# 5 s to connect, 10 s without a byte of the answer, 60 s for the whole request.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=60.0, sock_connect=5.0, sock_read=10.0)
LINGER_SECONDS = 0.005
# Errors raised before a request left this machine: safe to retry even a non-idempotent call.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str]
    attempts: int
    seconds: float
    idempotent: bool = True  # False: a 5xx leaves it unknown whether CleverTap acted

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Counters:
    """What this client sent, for measuring batching (also in /metrics)."""

    requests: int = 0  # HTTP attempts, retries included
    upload_requests: int = 0
    records_sent: int = 0


class _LoopState:
    """The parts bound to one event loop: connection pool, request slots, batcher.

    aiohttp, not httpx: a send_message step makes a request per run, and httpcore's pool
    cost about 1 ms of CPU per request there (bench/e2e.py (b)).
    """

    def __init__(self, client: CleverTap, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.http = http_session(  # the egress policy applies
            connections=max(client.max_in_flight, MAX_CONCURRENT_REQUESTS) + 5,
            headers=client.headers(),
            timeout=client.timeout,
        )
        self.batcher = upload_batcher(
            client.deliver, client.slots, max_records=client.max_batch, linger=client.linger
        )
        self.messages = MessageSender(client)


class CleverTap:
    """One connected CleverTap account; what CleverTap actions get as `ctx.account`."""

    def __init__(
        self,
        account_id: str,
        passcode: str,
        base_url: str,
        *,
        region: str | None = None,
        retry: RequestRetries | None = None,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        linger: float = LINGER_SECONDS,
        max_batch: int = MAX_RECORDS_PER_UPLOAD,
        max_in_flight: int = MAX_CONCURRENT_REQUESTS,
        token: str | None = None,
    ) -> None:
        self.account_id = account_id
        self._passcode = passcode
        self.base_url = base_url.rstrip("/")
        self.region = region
        self.retry = retry or RequestRetries.from_env()
        self.timeout = timeout
        self.linger = linger
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._token = token
        self.counters = Counters()
        # Shared by every process of the installation (relayflow.sdk.slots).
        self.slots = shared_slots(f"clevertap:{account_id}", max_in_flight)
        self._state: _LoopState | None = None

    def __repr__(self) -> str:  # never the passcode
        return f"CleverTap(account_id={self.account_id!r}, base_url={self.base_url!r})"

    def headers(self) -> dict[str, str]:
        return {
            "X-CleverTap-Account-Id": self.account_id,
            "X-CleverTap-Passcode": self._passcode,
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "relayflow",
        }

    @property
    def has_token(self) -> bool:
        """Whether the account has an X-CleverTap-Token (needed for bulk sends)."""
        return self._token is not None

    def token_headers(self) -> dict[str, str]:
        """The X-CleverTap-Token header the bulk-send endpoints want ({} without a token)."""
        return {"X-CleverTap-Token": self._token} if self._token else {}

    def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        if self._state is None or self._state.loop is not loop:
            self._state = _LoopState(self, loop)
        return self._state

    # Requests ---------------------------------------------------------------------------

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotent: bool = True,
        slot: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        """Send one request, retrying what may succeed later; returns the last response.

        Each attempt holds one of the account's request slots: `slot` is one the caller
        took already (it is released after the first attempt). Raises StepError
        (retryable) when no response came back within the retry budget. With
        `idempotent=False` only answers that prove nothing was done (429, refused
        connections) are retried, so a campaign is never created twice.
        """
        state = self._loop_state()
        url = self.base_url + path
        started = time.monotonic()
        attempt = 0
        held = slot
        try:
            content = None if body is None else _json(body)
            query = query_values(params)
            while True:
                attempt += 1
                if held is None:
                    held = await self.slots.acquire()
                response: _Answer | None = None
                try:
                    response = await _request(state.http, method, url, query, content, headers)
                    problem = f"HTTP {response.status}"
                    retry_after = retry_after_seconds(response.headers.get("retry-after"))
                    may_retry = response.status in RETRY_STATUSES and (
                        idempotent or response.status == 429
                    )
                except (aiohttp.ClientError, TimeoutError) as exc:
                    problem = _describe_transport(exc)
                    retry_after = None
                    may_retry = idempotent or isinstance(exc, _NOT_SENT)
                finally:
                    taken, held = held, None
                    await self.slots.release(taken)
                self.counters.requests += 1
                status = str(response.status) if response is not None else "error"
                REQUESTS.labels(status).inc()
                elapsed = time.monotonic() - started
                delay = self.retry.delay(attempt, retry_after)
                gives_up = (
                    not may_retry
                    or attempt >= self.retry.max_attempts
                    or elapsed + delay > self.retry.budget
                )
                if response is not None and gives_up:
                    return ApiResponse(
                        response.status,
                        _body(response.content),
                        response.headers,
                        attempt,
                        elapsed,
                        idempotent,
                    )
                if gives_up:
                    raise _unreachable(url, problem, attempt, elapsed, may_retry)
                await asyncio.sleep(delay)
        finally:
            if held is not None:
                await self.slots.release(held)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotent: bool = True,
    ) -> Any:
        """Send a request and return its JSON body; StepError for an HTTP or a `fail` answer."""
        response = await self.send(method, path, params=params, body=body, idempotent=idempotent)
        self.raise_for_status(response, method, path)
        answer = response.body
        if isinstance(answer, dict) and answer.get("status") == "fail":
            raise StepError(
                f"CleverTap refused {method} {path}: {_error_text(answer)}",
                details=answer,
                retryable=False,
            )
        return answer

    def raise_for_status(self, response: ApiResponse, method: str, path: str) -> None:
        """StepError for a non-2xx answer; retryable only for 429 and 5xx."""
        if response.ok:
            return
        what = f"{method} {path}"
        text = _error_text(response.body, response.status)
        if response.status == 401:
            raise StepError(
                f"CleverTap rejected the Account ID / Passcode (HTTP 401: {text}) for Account ID "
                f"{self.account_id} at {self.base_url}. Check the passcode (CleverTap dashboard: "
                "Settings > Project) and the region: a project in another region answers 401 "
                "here. Fix the account on the Accounts page, or with: relayflow accounts add"
                " clevertap NAME ... --replace",
                details={"status": 401, "body": response.body, "url": self.base_url + path},
                retryable=False,
            )
        if response.status in RETRY_STATUSES and (response.idempotent or response.status == 429):
            raise StepError(
                f"CleverTap answered {response.status} ({text}) to {what}, still after "
                f"{_attempts(response.attempts, response.seconds)}; add `retries:` to the "
                "workflow's settings so the run tries again later",
                details={"status": response.status, "body": response.body},
                retryable=True,
            )
        if response.status in RETRY_STATUSES:
            raise StepError(
                f"CleverTap answered {response.status} ({text}) to {what}; it may or may not "
                "have acted on it, so relayflow does not retry: check in CleverTap before "
                "running this step again",
                details={"status": response.status, "body": response.body},
                retryable=False,
            )
        raise StepError(
            f"CleverTap answered {response.status} to {what}: {text}",
            details={"status": response.status, "body": response.body},
            retryable=False,
        )

    async def check_credentials(self) -> str:
        """A real authenticated read; returns what was checked, or raises StepError."""
        response = await self.send(
            "GET", "/1/profile.json", params={"identity": "relayflow-connection-check"}
        )
        self.raise_for_status(response, "GET", "/1/profile.json")
        where = f"region {self.region}" if self.region else "custom endpoint"
        return f"CleverTap accepted Account ID {self.account_id} at {self.base_url} ({where})"

    # Uploads ----------------------------------------------------------------------------

    async def upload(
        self,
        record: dict[str, Any],
        *,
        check: bool = True,
        locate: Callable[[str | None], str] | None = None,
    ) -> dict[str, Any]:
        """Upload one profile or event record, batched with concurrent uploads.

        Returns {"status", "processed", "record", "request_records"}. Raises StepError:
        at once for a record that breaks CleverTap's rules (nothing is sent; `locate` turns
        the record field into the input to fix), with CleverTap's code for a record it
        skipped, and retryable when the whole request failed.
        """
        if check:
            error = check_record(record)
            if error is not None:
                raise rule_error(record, error, locate)
        entry, size = await self._loop_state().batcher.submit(record)
        if entry is not None:
            raise record_error(record, entry)
        return {"status": "success", "processed": 1, "record": record, "request_records": size}

    async def send_message(self, send: TriggerSend) -> dict[str, Any]:
        """Trigger an External Trigger campaign for the send's users, batched with the
        sends of concurrent runs where the API allows it.

        Returns {"campaign_id", "users": [per-user result], "sent", "not_sent",
        "request_sends"}; raises StepError when the whole request failed.
        """
        users, size = await self._loop_state().messages.submit(send)
        sent = sum(1 for user in users if user["status"] == "sent")
        return {
            "campaign_id": send.campaign_id,
            "users": users,
            "sent": sent,
            "not_sent": len(users) - sent,
            "request_sends": size,  # runs whose sends shared the request
        }

    async def deliver(
        self, records: list[dict[str, Any]], slot: int
    ) -> list[dict[str, Any] | None]:
        """Send one upload request holding `slot` already; one outcome per record."""
        self.counters.upload_requests += 1
        self.counters.records_sent += len(records)
        try:
            response = await self.send("POST", "/1/upload", body={"d": records}, slot=slot)
            self.raise_for_status(response, "POST", "/1/upload")
        except StepError:
            RECORDS.labels("failed").inc(len(records))
            raise
        outcomes, unmatched = match_unprocessed(records, response.body)
        failed = sum(1 for outcome in outcomes if outcome is not None)
        processed = response.body.get("processed") if isinstance(response.body, dict) else None
        if unmatched or (isinstance(processed, int) and processed < len(records) - failed):
            # CleverTap skipped records without saying which: none can be reported as sent.
            note = {
                "code": None,
                "error": f"CleverTap processed {processed} of {len(records)} records in this "
                "request without saying which were skipped",
                "response": response.body,
            }
            outcomes = [
                outcome or {**note, "record": rec}
                for outcome, rec in zip(outcomes, records, strict=True)
            ]
            failed = len(records)
        RECORDS.labels("processed").inc(len(records) - failed)
        RECORDS.labels("unprocessed").inc(failed)
        return outcomes

    async def aclose(self) -> None:
        """Send what is queued, then close the connections."""
        state = self._state
        if state is None:
            return
        try:
            if asyncio.get_running_loop() is state.loop:
                await state.batcher.drain()
                await state.messages.drain()
                await state.http.close()
        finally:
            self._state = None


def _unreachable(url: str, problem: str, attempts: int, elapsed: float, safe: bool) -> StepError:
    tried = _attempts(attempts, elapsed)
    if not safe:
        return StepError(
            f"no answer from CleverTap at {url}: {problem} ({tried}); it may or may not have "
            "acted on the request, so relayflow does not retry: check in CleverTap before "
            "running this step again",
            details={"url": url, "error": problem, "attempts": attempts},
            retryable=False,
        )
    return StepError(
        f"could not reach CleverTap at {url}: {problem} ({tried}). Check the account's region "
        "or endpoint (a workflow with `retries:` in its settings keeps trying later)",
        details={"url": url, "error": problem, "attempts": attempts},
        retryable=True,
    )


def _json(body: Any) -> bytes:
    try:
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        raise StepError(
            f"the request body cannot be sent as JSON: {exc}", retryable=False
        ) from None


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    content: bytes


async def _request(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    query: dict[str, Any] | None,
    content: bytes | None,
    headers: dict[str, str] | None,
) -> _Answer:
    async with http.request(
        method, url, params=query, data=content, headers=headers, allow_redirects=False
    ) as response:
        raw = await response.read()
        names = {name.lower(): value for name, value in response.headers.items()}
        return _Answer(response.status, names, raw)


def _body(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return content.decode("utf-8", "replace")


def _error_text(body: Any, status: int | None = None) -> str:
    if isinstance(body, dict):
        error = body.get("error") or body.get("message") or body.get("status")
        code = body.get("code")
        if code is not None and error and code != status:
            return f"{error} (code {code})"
        return str(error or body)
    return str(body)[:300] or "no body"


def _describe_transport(exc: Exception) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect ({exc.os_error.strerror or exc.os_error})"
    if isinstance(exc, TimeoutError):
        what = "connecting" if isinstance(exc, aiohttp.ConnectionTimeoutError) else "waiting"
        return f"timed out {what} ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _attempts(attempts: int, seconds: float) -> str:
    return f"{attempts} attempt{'s' if attempts != 1 else ''} over {seconds:.1f} s"
