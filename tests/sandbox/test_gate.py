"""Auth, the 15-request concurrency cap, fault injection and request stats."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from relayflow.sandbox import SandboxServer

from .helpers import upload

EVENT = {"type": "event", "identity": "u1", "evtName": "Tick", "evtData": {}}
INVALID = {"status": "fail", "error": "Invalid Credentials", "code": 401}


@pytest.mark.parametrize(
    "headers",
    [
        {"X-CleverTap-Account-Id": "ACC-ONE", "X-CleverTap-Passcode": "wrong"},
        {"X-CleverTap-Account-Id": "ACC-TWO", "X-CleverTap-Passcode": "pass-one"},
        {"X-CleverTap-Account-Id": "NOPE", "X-CleverTap-Passcode": "pass-one"},
        {"X-CleverTap-Account-Id": "ACC-ONE"},
        {},
    ],
)
def test_vector_4_bad_or_missing_credentials_are_401(sandbox: SandboxServer, headers: dict) -> None:
    response = httpx.post(f"{sandbox.url}/1/upload", headers=headers, json={"d": [EVENT]})
    assert response.status_code == 401
    assert response.json() == INVALID
    response = httpx.get(f"{sandbox.url}/v1/connect", params={"partner": "x"}, headers=headers)
    assert response.status_code == 401


def test_connect_checks_good_credentials(api: httpx.Client) -> None:
    response = api.get("/v1/connect", params={"partner": "relayflow"})
    assert response.status_code == 200
    assert response.json() == {"status": "success"}


def test_unknown_endpoint_names_the_ones_that_exist(api: httpx.Client) -> None:
    response = api.post("/1/demerge/profiles.json", json={})
    assert response.status_code == 404
    assert "/1/upload" in response.json()["error"]
    assert api.get("/1/upload").status_code == 405


async def _upload_concurrently(sandbox: SandboxServer, count: int) -> list[int]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(headers=sandbox.headers(), limits=limits, timeout=10) as client:
        responses = await asyncio.gather(
            *(client.post(f"{sandbox.url}/1/upload", json={"d": [EVENT]}) for _ in range(count))
        )
    for response in responses:
        if response.status_code == 429:
            assert response.json() == {
                "status": "fail",
                "error": "Too many concurrent requests",
                "code": 429,
            }
            assert response.headers["retry-after"] == "1"
    return [r.status_code for r in responses]


def test_vector_10_sixteenth_concurrent_request_gets_429(sandbox: SandboxServer) -> None:
    sandbox.set_faults(latency_ms=600)
    statuses = asyncio.run(_upload_concurrently(sandbox, 20))
    assert sorted(statuses) == [200] * 15 + [429] * 5
    stats = sandbox.stats()
    assert stats["concurrency"]["ACC-ONE"] == {"in_flight": 0, "peak": 15}
    assert stats["requests"]["by_status"] == {"200": 15, "429": 5}
    assert stats["uploads"]["records"] == 15


def test_a_sandbox_started_with_a_lower_limit_refuses_beyond_it() -> None:
    with SandboxServer(concurrency_limit=3, latency_ms=400) as small:
        statuses = asyncio.run(_upload_concurrently(small, 5))
        assert sorted(statuses) == [200] * 3 + [429] * 2
        assert small.stats()["concurrency"][small.account_id]["peak"] == 3


def test_concurrency_is_counted_per_account(sandbox: SandboxServer) -> None:
    sandbox.set_faults(latency_ms=400)

    async def both() -> list[int]:
        headers = [sandbox.headers("ACC-ONE"), sandbox.headers("ACC-TWO")]
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=30)) as client:
            calls = [
                client.post(f"{sandbox.url}/1/upload", headers=h, json={"d": [EVENT]})
                for h in headers
                for _ in range(15)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    assert asyncio.run(both()) == [200] * 30


def test_fail_next_and_status_override(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.set_faults(fail_next=2)
    first, second, third = (api.post("/1/upload", json={"d": [EVENT]}) for _ in range(3))
    assert first.status_code == second.status_code == 503
    assert first.json() == {"status": "fail", "error": "Service Unavailable", "code": 503}
    assert third.status_code == 200
    sandbox.set_faults(fail_next=1, status=429)
    throttled = api.post("/1/upload", json={"d": [EVENT]})
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "Too many concurrent requests"
    assert throttled.headers["retry-after"] == "1"
    assert sandbox.stats()["uploads"]["records"] == 1


def test_error_rate_fails_that_fraction(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.set_faults(error_rate=0.3, seed=7)
    statuses = [api.post("/1/upload", json={"d": [EVENT]}).status_code for _ in range(200)]
    failures = statuses.count(503)
    assert set(statuses) == {200, 503}
    assert 35 <= failures <= 85
    sandbox.set_faults(error_rate=0)
    assert api.post("/1/upload", json={"d": [EVENT]}).status_code == 200


def test_bad_fault_settings_are_refused(sandbox: SandboxServer) -> None:
    response = httpx.post(f"{sandbox.url}/_sandbox/faults", json={"error_rate": 2})
    assert response.status_code == 400
    assert response.json()["error"] == "error_rate is 2; use a fraction from 0 to 1"
    response = httpx.post(f"{sandbox.url}/_sandbox/faults", json={"status": 404})
    assert "status 404 cannot be injected" in response.json()["error"]
    response = httpx.post(f"{sandbox.url}/_sandbox/faults", json={"latency": 5})
    assert "unknown fault setting latency" in response.json()["error"]


def test_latency_fault_delays_api_calls(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.set_faults(latency_ms=200)
    response = api.get("/v1/connect")
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.2
    assert httpx.get(f"{sandbox.url}/_sandbox/health").elapsed.total_seconds() < 0.2


def test_stats_count_requests_and_records_per_upload(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    for size in (1, 10, 250, 1000):
        upload(api, *([EVENT] * size))
    api.get("/1/profile.json", params={"identity": "u1"})
    httpx.post(f"{sandbox.url}/1/upload", json={"d": [EVENT]})
    stats = sandbox.stats()
    assert stats["requests"]["total"] == 6
    assert stats["requests"]["by_path"] == {"/1/upload": 5, "/1/profile.json": 1}
    assert stats["requests"]["by_status"] == {"200": 5, "401": 1}
    assert stats["requests"]["by_account"] == {"ACC-ONE": 5}
    uploads = stats["uploads"]
    assert uploads["requests"] == 4
    assert uploads["records"] == 1261
    assert uploads["records_per_request"] == [1, 10, 250, 1000]
    assert uploads["max_records_per_request"] == 1000
    assert uploads["histogram"] == {"1": 1, "2-10": 1, "101-250": 1, "1000": 1}
    sandbox.reset("stats")
    assert sandbox.stats()["requests"]["total"] == 0
    assert api.post("/1/counts/profiles.json", json={}).json()["count"] == 1


def test_reset_restores_the_starting_faults_and_wipes_data(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    upload(api, EVENT)
    sandbox.set_faults(error_rate=1.0)
    assert api.get("/v1/connect").status_code == 503
    sandbox.reset()
    assert sandbox.stats()["faults"]["error_rate"] == 0.0
    assert api.post("/1/counts/profiles.json", json={}).json()["count"] == 0
