"""New Call: every identify, track, page, screen, group or alias call Segment sends."""

from __future__ import annotations

from typing import Any

from relayflow.sdk import (
    Delivery,
    Received,
    Refused,
    SourceContext,
    SourceInputs,
    field,
    webhook_source,
)
from relayflow.sdk.signatures import check_hmac, digest, encode

HEADER = "X-Signature"
CALLS = ("identify", "track", "page", "screen", "group", "alias")


class Inputs(SourceInputs):
    types: list[str] = field(
        [],
        label="Call types",
        doc="Only these start runs, e.g. identify and track; empty: every call",
        examples=[["identify", "track"]],
    )


SAMPLE: dict[str, Any] = {
    "type": "identify",
    "messageId": "segment-msg-1001",
    "userId": "u-1001",
    "anonymousId": "4c7e5b3a-0f3e-4c3f-9a3a-2f1e0c9d8b7a",
    "traits": {
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "phone": "+14155550100",
        "plan": "pro",
    },
    "context": {"library": {"name": "analytics.js", "version": "2.11.1"}},
    "timestamp": "2026-12-03T10:00:00.000Z",
    "sentAt": "2026-12-03T10:00:00.120Z",
}


def sign(body: bytes, secret: str, now: float) -> dict[str, str]:
    return {HEADER: encode(digest(secret.encode(), body, "sha1"), "hex")}


def freshen(body: dict[str, Any], headers: dict[str, str], suffix: str) -> tuple[dict, dict]:
    return {**body, "messageId": f"{body['messageId']}-{suffix}"}, headers


@webhook_source(
    "segment.new_call",
    title="New Call (identify, track, page, …)",
    docs="https://segment.com/docs/connections/destinations/catalog/webhooks/#authentication",
    sample=SAMPLE,
    signer=sign,
    freshen=freshen,
)
def new_call(delivery: Delivery, ctx: SourceContext[Inputs]) -> Received:
    """A Segment call as Segment sends it (`type`, `userId`, `traits` or `event` and
    `properties`), verified with the destination's shared secret; once per messageId."""
    check_hmac(delivery, HEADER, ctx.secret("webhook_secret"), algorithm="sha1")
    call = delivery.json()
    if not isinstance(call, dict) or call.get("type") not in CALLS:
        raise Refused(f"the body is not a Segment call (type is one of {', '.join(CALLS)})", 400)
    kind = call["type"]
    wanted = not ctx.inputs.types or kind in ctx.inputs.types
    return Received.one(call, key=call.get("messageId"), type=kind, wanted=wanted)
