"""Send any HTTP request: method, URL, headers, query and body; get status, headers, body."""

from __future__ import annotations

from typing import Any, Literal

import httpx

from relayflow.sdk import ActionInputs, StepContext, StepError, action, field


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


@action("http.request", title="Send any HTTP Request", docs="https://www.python-httpx.org/")
async def request(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """Send an HTTP request. A response outside 2xx fails the step unless allow_errors is set."""
    # Query parameters add to those already in the URL (httpx would replace them).
    url = httpx.URL(inputs.url).copy_merge_params(inputs.query) if inputs.query else inputs.url
    kwargs: dict[str, Any] = {"headers": inputs.headers}
    if isinstance(inputs.body, dict | list):
        kwargs["json"] = inputs.body
    elif inputs.body is not None:
        kwargs["content"] = str(inputs.body)
    try:
        response = await ctx.http.request(inputs.method, url, timeout=inputs.timeout, **kwargs)
    except httpx.TimeoutException:
        raise StepError(
            f"{inputs.method} {inputs.url} timed out after {inputs.timeout:g}s"
        ) from None
    except httpx.HTTPError as exc:
        raise StepError(f"{inputs.method} {inputs.url} failed: {exc}") from None
    result = {
        "status": response.status_code,
        "headers": dict(response.headers),
        "body": _body(response),
    }
    ctx.summary(f"{inputs.method} {inputs.url} → {response.status_code}")
    if response.status_code >= 400 and not inputs.allow_errors:
        raise StepError(
            f"{inputs.method} {inputs.url} answered {response.status_code}"
            " (set allow_errors: true to continue on error responses)",
            details=result,
            retryable=response.status_code == 429 or response.status_code >= 500,
        )
    return result


def _body(response: httpx.Response) -> Any:
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text
