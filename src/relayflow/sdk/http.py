"""HTTP for apps: clients whose connections go only where the egress policy allows
(relayflow/egress.py; a refusal raises EgressRefused, naming the rule).

    self.http = http_session(connections=20, headers={...})        # aiohttp, for hot paths
    httpx.AsyncClient(transport=http_transport(limits=httpx.Limits(...)))   # httpx

aiohttp is the client for anything a run does per event: httpcore's pool costs about
1 ms of CPU per request and grows with the requests in flight (bench/e2e.py); aiohttp's
about 0.13 ms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from relayflow import egress
from relayflow.egress import EgressRefused

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "EgressRefused",
    "http_session",
    "http_transport",
    "query_values",
    "sync_http_transport",
]


def http_session(
    *,
    connections: int,
    headers: Mapping[str, str] | None = None,
    timeout: aiohttp.ClientTimeout | None = None,
    policy: egress.EgressPolicy | None = None,
) -> aiohttp.ClientSession:
    """An aiohttp session with one keep-alive pool of `connections`, bound to the running
    event loop; close it with `await session.close()`. `policy`: this process's by default.

    Idle connections are dropped after 5 s (as httpx does), before servers commonly close
    them: a request sent on a connection the server is closing fails with no answer, and a
    request that must not be sent twice (a campaign, a message) cannot be retried then.
    The session keeps no cookies: it serves every run of every workflow, and a cookie one
    run was given must not go out with another's request.
    """
    import aiohttp

    return aiohttp.ClientSession(
        connector=egress.connector(
            policy, limit=connections, ttl_dns_cache=60, keepalive_timeout=5.0
        ),
        headers=dict(headers or {}),
        timeout=timeout or aiohttp.ClientTimeout(total=30),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def query_values(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters as aiohttp and yarl take them: true/false for booleans, "" for
    None, a list's items as the same key repeated, other objects as their text."""
    return {str(key): _query_value(value) for key, value in params.items()} if params else None


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return [_query_value(v) for v in value]
    return value if isinstance(value, str | int | float) else str(value)


def http_transport(**options: Any) -> Any:
    """An httpx.AsyncHTTPTransport (same options) that follows this process's policy."""
    return egress.async_transport(**options)


def sync_http_transport(**options: Any) -> Any:
    """An httpx.HTTPTransport (same options) that follows this process's policy."""
    return egress.sync_transport(**options)
