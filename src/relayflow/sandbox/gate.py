"""The gate in front of every CleverTap API call: stats, auth, concurrency cap, faults.

Only paths under /1/, /2/ and /v1/ pass through it; the dashboard and /_sandbox/ do not.
A request beyond the account's concurrency limit (15 unless the sandbox was started with
another) answers 429 with `Retry-After: 1`, as do injected 429 faults: CleverTap documents
the 429 but not the header, so the sandbox sends the conventional one (docs/clevertap-api.md).
"""

from __future__ import annotations

import asyncio
import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relayflow.sandbox.faults import FAULT_STATUSES
from relayflow.sandbox.state import SandboxState
from relayflow.sandbox.web import ACCOUNT_SCOPE_KEY, JSONResponse, fail

API_PREFIXES = ("/1/", "/2/", "/v1/")
RETRY_AFTER_SECONDS = 1


class ApiGate:
    """ASGI middleware: count, authenticate, cap in-flight requests per account, inject faults."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        stats = self.state.stats
        stats.request_started(scope["path"])
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._gate(scope, receive, send_and_note)
        finally:
            stats.request_finished(status)

    async def _gate(self, scope: Scope, receive: Receive, send: Send) -> None:
        account = self._authenticate(Headers(scope=scope))
        if account is None:
            await fail("Invalid Credentials", 401)(scope, receive, send)
            return
        stats = self.state.stats
        if stats.in_flight[account] >= self.state.concurrency_limit:
            await throttled()(scope, receive, send)
            return
        stats.enter(account)
        left = False

        def leave() -> None:
            nonlocal left
            if not left:
                left = True
                stats.leave(account)

        async def answer(message: Message) -> None:
            # A request is in flight until its answer is complete, not until this task
            # resumes after sending it: by then the client may have sent its next request
            # (into the slot it just freed), which must not count as one too many.
            if message["type"] == "http.response.body" and not message.get("more_body"):
                leave()
            await send(message)

        try:
            faults = self.state.faults
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            failure = faults.next_failure()
            if failure == 429:
                await throttled()(scope, receive, answer)
                return
            if failure is not None:
                await fail(FAULT_STATUSES[failure], failure)(scope, receive, answer)
                return
            scope[ACCOUNT_SCOPE_KEY] = account
            await self.app(scope, receive, answer)
        finally:
            leave()

    def _authenticate(self, headers: Headers) -> str | None:
        account = headers.get("x-clevertap-account-id", "")
        passcode = headers.get("x-clevertap-passcode", "")
        expected = self.state.accounts.get(account)
        if expected is None or not hmac.compare_digest(passcode.encode(), expected.encode()):
            return None
        return account


def throttled() -> JSONResponse:
    """CleverTap's 429 for too many concurrent requests, with when to try again."""
    response = fail(FAULT_STATUSES[429], 429)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
