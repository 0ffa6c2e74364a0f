"""Send any HTTP request: method, URL, headers, query and body; get status, headers, body."""

from __future__ import annotations

from typing import Any, Literal

import aiohttp
import orjson
from yarl import URL

from relayflow.sdk import (
    ActionInputs,
    EgressRefused,
    StepContext,
    StepError,
    action,
    field,
    query_values,
)


class Inputs(ActionInputs):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = field(
        "GET", label="Method"
    )
    url: str = field(label="URL", examples=["https://api.example.com/v1/users"])
    headers: dict[str, str] = field({}, label="Headers")
    query: dict[str, Any] = field({}, label="Query parameters")
    body: Any = field(None, label="Body", doc="An object or list is sent as JSON; text as is")
    timeout: float = field(30.0, label="Timeout (seconds)")
    allow_errors: bool = field(
        False, label="Allow errors", doc="Return 4xx/5xx responses instead of failing the step"
    )


@action("http.request", title="Send any HTTP Request", docs="https://docs.aiohttp.org/")
async def request(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """Send an HTTP request. A response outside 2xx fails the step unless allow_errors is set."""
    try:
        url = URL(inputs.url)
        if inputs.query:  # added to the parameters already in the URL
            url = url.extend_query(query_values(inputs.query))
    except (ValueError, TypeError) as exc:
        raise StepError(f"{inputs.url!r} is not a URL relayflow can send to: {exc}") from None
    headers = dict(inputs.headers)
    data: bytes | None = None
    if isinstance(inputs.body, dict | list):
        data = orjson.dumps(inputs.body, option=orjson.OPT_NON_STR_KEYS)
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
    elif inputs.body is not None:
        data = str(inputs.body).encode()
    timeout = aiohttp.ClientTimeout(total=inputs.timeout)
    try:
        async with ctx.http.request(
            inputs.method, url, headers=headers, data=data, timeout=timeout
        ) as response:
            raw = await response.read()
            result = {
                "status": response.status,
                "headers": _headers(response),
                "body": _body(response, raw),
            }
    except TimeoutError:
        raise StepError(
            f"{inputs.method} {inputs.url} timed out after {inputs.timeout:g}s"
        ) from None
    except EgressRefused as exc:
        raise StepError(f"{inputs.method} {inputs.url}: {exc}", retryable=False) from None
    except aiohttp.ClientError as exc:
        raise StepError(f"{inputs.method} {inputs.url} failed: {exc}") from None
    status = result["status"]
    ctx.summary(f"{inputs.method} {inputs.url} → {status}")
    if status >= 400 and not inputs.allow_errors:
        raise StepError(
            f"{inputs.method} {inputs.url} answered {status}"
            " (set allow_errors: true to continue on error responses)",
            details=result,
            retryable=status == 429 or status >= 500,
        )
    return result


def _headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    """Lower-cased names; a header sent more than once has its values joined with ", "."""
    out: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _body(response: aiohttp.ClientResponse, raw: bytes) -> Any:
    if "json" in response.headers.get("content-type", ""):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return raw.decode(response.get_encoding(), errors="replace")
