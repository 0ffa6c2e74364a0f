"""Build any CleverTap API request: the account's host and auth headers are added for you."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from relayflow.apps.clevertap.records import fail, parse_json
from relayflow.apps.clevertap.results import check_upload_body, skipped_records_error
from relayflow.sdk import ActionInputs, StepContext, action, field

# Requests that act (send messages, create campaigns) are not retried after a 5xx.
NOT_IDEMPOTENT = ("/1/targets/create.json", "/1/send/")


class Inputs(ActionInputs):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = field("POST", label="Method")
    path: str = field(
        label="Path", examples=["/1/upload", "/1/profile.json"], doc="After the region's host"
    )
    query: dict[str, Any] = field({}, label="Query parameters")
    body: Any = field(None, label="Body", doc='An object, or raw JSON text (e.g. {"d": [...]})')
    allow_errors: bool = field(
        False, label="Allow errors", doc="Return error answers and skipped records, don't fail"
    )
    check_rules: bool = field(
        True, label="Check upload records", doc="For /1/upload: refuse rule-breaking records"
    )


@action(
    "clevertap.api_request",
    title="Build any CleverTap API request",
    docs="https://developer.clevertap.com/docs/common-api-components",
    needs_account=True,
)
async def api_request(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """Send any CleverTap API request; an upload fails on records CleverTap skipped."""
    path = _path(ctx, inputs.path)
    body = parse_json(inputs.body, "body") if isinstance(inputs.body, str) else inputs.body
    upload = inputs.method == "POST" and path == "/1/upload"
    if upload and inputs.check_rules:
        check_upload_body(body)
    response = await ctx.account.send(
        inputs.method,
        path,
        params=inputs.query or None,
        body=body,
        idempotent=not path.startswith(NOT_IDEMPOTENT),
    )
    result = {"status": response.status, "body": response.body}
    ctx.summary(f"{inputs.method} {path} → {response.status}")
    if not inputs.allow_errors:
        ctx.account.raise_for_status(response, inputs.method, path)
        records = body.get("d") if isinstance(body, dict) else None
        if upload and isinstance(records, list) and isinstance(response.body, dict):
            skipped = skipped_records_error(records, response.body)
            if skipped is not None:
                raise skipped
    return result


def _path(ctx: StepContext, given: str) -> str:
    text = given.strip()
    if text.startswith(("http://", "https://")):
        text = urlsplit(text).path
        ctx.log(f"using the path {text} of {given}; the host comes from the account")
    if not text.startswith(("/1/", "/v1/")):
        raise fail(f"path {given!r} is not a CleverTap API path; write e.g. /1/upload")
    return text
