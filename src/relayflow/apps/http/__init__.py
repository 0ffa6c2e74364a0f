"""HTTP: send any request, answer the request that started a run, poll a JSON API.

An account is optional: it holds the headers sent when polling an API (a token).
"""

from __future__ import annotations

import json
from typing import Any

from relayflow.sdk import AccountField, App, PollError

APP = App(
    key="http",
    title="HTTP",
    description="Send any HTTP request, answer the webhook that started the run, or poll an API",
    account_fields=(
        AccountField(
            "bearer_token",
            "Bearer token",
            secret=True,
            required=False,
            help="Sent as Authorization: Bearer <token>",
        ),
        AccountField(
            "headers",
            "Headers (JSON)",
            secret=True,
            required=False,
            help='Other headers, as a JSON object: {"X-Api-Key": "…"}',
        ),
    ),
)


def account_headers(fields: dict[str, Any]) -> dict[str, str]:
    """The headers an http account adds to a request."""
    headers: dict[str, str] = {}
    if fields.get("headers"):
        try:
            given = json.loads(fields["headers"])
        except json.JSONDecodeError as exc:
            raise PollError(f"the account's headers are not a JSON object: {exc}") from None
        if not isinstance(given, dict):
            raise PollError('the account\'s headers must be a JSON object: {"Name": "value"}')
        headers.update({str(k): str(v) for k, v in given.items()})
    if fields.get("bearer_token"):
        headers["Authorization"] = f"Bearer {fields['bearer_token']}"
    return headers
