"""Campaign or Journey Webhook: CleverTap calls a workflow with the profiles it targets.

A campaign or journey with the webhook channel (Settings > Channels > Webhooks) posts
`{"targetId": …, "profiles": [{objectId, identity, email, profileData, key_values, …}]}`.
CleverTap documents no signature for it; it lets you add headers and Basic auth to the
webhook, so the source checks a key you set there against the account's `webhook_key`.
CleverTap retries a call once after a few seconds: the same profile of the same call
runs once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import orjson

from relayflow.sdk import (
    Delivery,
    Emitted,
    Received,
    Refused,
    SourceContext,
    SourceInputs,
    field,
    webhook_source,
)
from relayflow.sdk.signatures import same

HEADER = "X-Relayflow-Key"


class Inputs(SourceInputs):
    header: str = field(
        HEADER,
        label="Key header",
        doc="The header you add to the webhook in CleverTap, holding the account's webhook key;"
        " Basic auth with the key as the password works too",
    )


SAMPLE: dict[str, Any] = {
    "targetId": 1764750001,
    "profiles": [
        {
            "objectId": "__g1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d",
            "identity": "u-1001",
            "email": "ada@example.com",
            "platform": "Web",
            "all_identities": ["u-1001", "ada@example.com"],
            "profileData": {"Name": "Ada Lovelace", "Plan": "pro", "Last Order": 59.9},
            "key_values": {"coupon": "WELCOME10"},
        }
    ],
}


def sign(body: bytes, secret: str, now: float) -> dict[str, str]:
    """Not a signature: CleverTap sends the key you set as a header, as it is."""
    return {HEADER: secret}


def freshen(body: dict[str, Any], headers: dict[str, str], suffix: str) -> tuple[dict, dict]:
    return {**body, "targetId": f"{body['targetId']}{suffix}"}, headers


def basic_password(header: str | None) -> str | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Refused("the Authorization header is not valid Basic auth") from None
    return decoded.partition(":")[2]


@webhook_source(
    "clevertap.webhook",
    title="Campaign or Journey Webhook",
    docs="https://developer.clevertap.com/docs/webhooks",
    sample=SAMPLE,
    signer=sign,
    secret_field="webhook_key",
    freshen=freshen,
    dedupe_window=3600.0,
)
def webhook(delivery: Delivery, ctx: SourceContext[Inputs]) -> Received:
    """One event per profile a CleverTap campaign or journey sends to the webhook: the
    profile (identity, email, profileData) with the campaign's `targetId` and key-values."""
    expected = ctx.secret("webhook_key")
    given = delivery.header(ctx.inputs.header) or basic_password(delivery.header("authorization"))
    if not given:
        raise Refused(
            f"the {ctx.inputs.header} header (or Basic auth) is missing: add it to the webhook"
            " in CleverTap's settings"
        )
    if not same(given, expected):
        raise Refused(f"the key in {ctx.inputs.header} is not the account's webhook key")
    payload = delivery.json()
    profiles = payload.get("profiles") if isinstance(payload, dict) else None
    if not isinstance(profiles, list):
        raise Refused("the body is not a CleverTap webhook call (it needs profiles)", status=400)
    target = payload.get("targetId")
    events = []
    for profile in profiles:
        if not isinstance(profile, dict):
            continue
        who = profile.get("objectId") or profile.get("identity") or profile.get("email")
        digest = hashlib.sha256(orjson.dumps(profile, option=orjson.OPT_SORT_KEYS)).hexdigest()
        event = {**profile, "targetId": target, "key_values": profile.get("key_values") or {}}
        events.append(
            Emitted(
                event,
                key=f"{target}:{who}:{digest[:16]}",
                type=str(target),
                context={"target_id": target},
            )
        )
    return Received(tuple(events))
