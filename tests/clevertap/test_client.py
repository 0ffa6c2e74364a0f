"""The CleverTap client against a real sandbox: batching, per-record results, retries, 401."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest

from relayflow.apps.clevertap import connect
from relayflow.apps.clevertap.client import CleverTap
from relayflow.apps.clevertap.retries import RequestRetries
from relayflow.sandbox import SandboxServer
from relayflow.sdk import StepError

from .helpers import profile


def client_for(sandbox: SandboxServer, **fields: Any) -> CleverTap:
    values = {
        "account_id": sandbox.account_id,
        "passcode": sandbox.passcode,
        "endpoint": sandbox.url,
        **fields,
    }
    return connect(values, retry=RequestRetries(budget=2.0, initial=0.05, max_delay=0.2))


def person(i: int, phone: str | None = None) -> dict[str, Any]:
    data = {"Name": f"User {i}", "Phone": phone or f"+1415555{i:04d}"}
    return {"type": "profile", "identity": f"user-{i}", "profileData": data}


async def upload_all(client: CleverTap, records: list[dict], check: bool = True) -> list[Any]:
    async def one(record: dict) -> Any:
        try:
            return await client.upload(record, check=check)
        except StepError as exc:
            return exc

    try:
        return await asyncio.gather(*(one(r) for r in records))
    finally:
        await client.aclose()


def test_concurrent_uploads_share_requests_and_each_gets_its_own_result(
    sandbox: SandboxServer,
) -> None:
    bad = set(random.Random(7).sample(range(2500), 5))
    records = [person(i, "555-0100" if i in bad else None) for i in range(2500)]
    client = client_for(sandbox)
    results = asyncio.run(upload_all(client, records, check=False))

    for i, result in enumerate(results):
        if i in bad:
            assert isinstance(result, StepError), i
            assert result.retryable is False
            assert result.details["code"] == 516
            assert result.details["record"]["identity"] == f"user-{i}"
            assert f"CleverTap rejected the profile for identity 'user-{i}' (code 516)" in str(
                result
            )
            assert "Skipped record number" not in str(result)
        else:
            assert not isinstance(result, StepError), result
            assert result["record"]["identity"] == f"user-{i}"
            assert result["status"] == "success"
    stats = sandbox.stats()
    uploads = stats["uploads"]
    assert uploads["records"] == 2500
    assert uploads["processed"] == 2495 and uploads["unprocessed"] == 5
    assert uploads["max_records_per_request"] <= 1000
    assert uploads["requests"] <= 10, uploads["records_per_request"]
    assert stats["concurrency"][sandbox.account_id]["peak"] <= 15
    assert client.counters.upload_requests == uploads["requests"]
    assert profile(sandbox, "user-42") is not None or 42 in bad


def test_a_record_that_breaks_a_rule_fails_at_once_and_is_never_sent(
    sandbox: SandboxServer,
) -> None:
    client = client_for(sandbox)
    results = asyncio.run(upload_all(client, [person(1, "4155550100"), person(2)]))

    assert isinstance(results[0], StepError)
    assert results[0].details["code"] == 516
    assert "has no country code" in str(results[0]) and "was not sent" in str(results[0])
    assert results[1]["status"] == "success"
    assert sandbox.stats()["uploads"]["records"] == 1


@pytest.mark.parametrize("status", [503, 429])
def test_failed_requests_are_retried_until_they_succeed(
    sandbox: SandboxServer, status: int
) -> None:
    sandbox.set_faults(fail_next=2, status=status)
    client = client_for(sandbox)
    client.retry = RequestRetries(budget=4.0, initial=0.05, max_delay=0.2)
    started = time.monotonic()
    (result,) = asyncio.run(upload_all(client, [person(1)]))

    assert result["status"] == "success"
    assert client.counters.requests == 3
    if status == 429:  # the sandbox's 429 says Retry-After: 1, and the client waits for it
        assert time.monotonic() - started >= 2.0
    assert sandbox.stats()["requests"]["by_status"] == {str(status): 2, "200": 1}
    assert profile(sandbox, "user-1") is not None


def test_when_retries_run_out_every_record_of_the_request_fails_retryably(
    sandbox: SandboxServer,
) -> None:
    sandbox.set_faults(error_rate=1.0, status=503)
    client = client_for(sandbox)
    results = asyncio.run(upload_all(client, [person(1), person(2), person(3)]))

    for result in results:
        assert isinstance(result, StepError)
        assert result.retryable is True
        assert "CleverTap answered 503" in str(result) and "add `retries:`" in str(result)
    assert client.counters.upload_requests == 1  # the three records shared one request
    assert client.counters.requests >= 3


def test_unreachable_clevertap_fails_retryably_naming_the_url() -> None:
    with SandboxServer() as gone:
        url = gone.url
    client = connect(
        {"account_id": "A", "passcode": "p", "endpoint": url},
        retry=RequestRetries(budget=0.5, initial=0.05),
    )
    (result,) = asyncio.run(upload_all(client, [person(1)]))
    assert isinstance(result, StepError) and result.retryable is True
    assert f"could not reach CleverTap at {url}/1/upload: cannot connect" in str(result)


def test_bad_passcode_is_not_retried_and_says_what_to_check(sandbox: SandboxServer) -> None:
    client = client_for(sandbox, passcode="wrong-passcode")
    (result,) = asyncio.run(upload_all(client, [person(1)]))

    assert isinstance(result, StepError) and result.retryable is False
    assert "CleverTap rejected the Account ID / Passcode (HTTP 401: Invalid Credentials)" in str(
        result
    )
    assert "region" in str(result)
    assert "wrong-passcode" not in str(result) and "wrong-passcode" not in repr(result.details)
    assert client.counters.requests == 1


def test_a_campaign_is_never_created_twice_after_an_unclear_5xx(sandbox: SandboxServer) -> None:
    campaign = {"name": "Sale", "target_mode": "push", "segment": "all", "when": "now"}

    async def create(client: CleverTap) -> Any:
        try:
            return await client.call(
                "POST", "/1/targets/create.json", body=campaign, idempotent=False
            )
        except StepError as exc:
            return exc
        finally:
            await client.aclose()

    sandbox.set_faults(fail_next=1, status=503)
    refused = asyncio.run(create(client_for(sandbox)))
    assert isinstance(refused, StepError) and refused.retryable is False
    assert "it may or may not have acted on it, so relayflow does not retry" in str(refused)

    sandbox.set_faults(fail_next=1, status=429)  # 429: nothing was done, safe to retry
    created = asyncio.run(create(client_for(sandbox)))
    assert created["status"] == "success"
    assert sandbox.stats()["requests"]["by_status"] == {"200": 1, "429": 1, "503": 1}


def test_no_more_than_15_requests_are_in_flight_per_account(sandbox: SandboxServer) -> None:
    sandbox.set_faults(latency_ms=100)
    client = client_for(sandbox)

    async def lookups() -> list[int]:
        try:
            answers = await asyncio.gather(
                *(client.send("GET", "/1/profile.json", params={"identity": f"u{i}"})
                  for i in range(40))
            )  # fmt: skip
        finally:
            await client.aclose()
        return [a.status for a in answers]

    assert asyncio.run(lookups()) == [200] * 40
    stats = sandbox.stats()
    assert stats["concurrency"][sandbox.account_id]["peak"] == 15
    assert stats["requests"]["by_status"] == {"200": 40}  # never a 429


def test_a_silent_clevertap_times_out_and_a_send_is_never_repeated_after_a_timeout():
    """A server that takes the request and never answers: an upload is retried until the
    budget, then fails retryably; a message send fails after one attempt (it may have
    gone out), naming the timeout."""
    import aiohttp

    async def scenario() -> tuple[StepError, StepError, int]:
        requests = 0

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal requests
            await reader.readuntil(b"\r\n\r\n")
            requests += 1
            await asyncio.sleep(30)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = CleverTap(
            "A",
            "p",
            f"http://127.0.0.1:{port}",
            retry=RequestRetries(budget=1.0, initial=0.05, max_delay=0.1),
            timeout=aiohttp.ClientTimeout(total=0.3),
        )
        try:
            with pytest.raises(StepError) as upload:
                await client.call("GET", "/1/profile.json", params={"identity": "x"})
            before = requests
            with pytest.raises(StepError) as send:
                await client.call("POST", "/1/send/externaltrigger.json", body={}, idempotent=False)
            return upload.value, send.value, requests - before
        finally:
            await client.aclose()
            server.close()

    upload, send, send_attempts = asyncio.run(scenario())
    assert upload.retryable is True and "timed out waiting" in str(upload)
    assert send.retryable is False and "may or may not have acted" in str(send)
    assert send_attempts == 1
