"""Workflows on every source, and deliveries signed as each app documents its scheme.

The signing here is written from the apps' documentation, separately from the apps'
own code, so that a test passing means the app code follows the documented scheme
(Stripe's and Standard Webhooks' official libraries check the same in test_oracles.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx

from relayflow.sdk import discover

SECRETS = {
    "stripe": "whsec_test_stripe_secret",
    "shopify": "shpss_test_shopify_secret",
    "segment": "segment-shared-secret",
    "typeform": "typeform-webhook-secret",
    "standard": "whsec_" + base64.b64encode(b"standard-webhooks-key-32-bytes!!").decode(),
    "github": "github-hook-secret",
    "clevertap": "clevertap-webhook-key",
}

ACCOUNTS = {  # app -> (account name, `relayflow accounts add` flags)
    "stripe": ("stripe-main", ["--webhook-secret", SECRETS["stripe"]]),
    "shopify": (
        "shop",
        ["--shop", "relayflow-demo.myshopify.com", "--webhook-secret", SECRETS["shopify"]],
    ),
    "segment": ("segment", ["--webhook-secret", SECRETS["segment"]]),
    "typeform": ("typeform", ["--webhook-secret", SECRETS["typeform"]]),
    "webhooks": ("github-hooks", ["--webhook-secret", SECRETS["github"]]),
    "clevertap": (
        "ct-hooks",
        [
            "--account-id",
            "TEST-HOOKS",
            "--passcode",
            "unused",
            "--endpoint",
            "http://127.0.0.1:9",
            "--webhook-key",
            SECRETS["clevertap"],
            "--no-test",  # it only receives webhooks here; there is no CleverTap to test
        ],
    ),
}

WORKFLOWS = {
    "stripe-paid": """\
name: stripe-paid
trigger:
  source:
    uses: stripe.new_event
    account: stripe-main
    path: stripe
    with: {types: [checkout.session.completed]}
steps:
  - name: amount
    uses: util.echo
    with: {value: "{{ steps.trigger.event.data.object.amount_total }}"}
""",
    "shop-orders": """\
name: shop-orders
trigger:
  source: {uses: shopify.new_order, account: shop, path: shopify/orders}
steps:
  - name: items
    uses: util.echo
    with: {value: "{{ steps.trigger.event.line_items | length }}"}
""",
    "segment-calls": """\
name: segment-calls
trigger:
  source:
    uses: segment.new_call
    account: segment
    path: segment
    with: {types: [identify, track]}
steps:
  - name: who
    uses: util.echo
    with: {value: "{{ steps.trigger.event.userId }}"}
""",
    "typeform-signups": """\
name: typeform-signups
trigger:
  source: {uses: typeform.new_response, account: typeform, path: typeform}
steps:
  - name: email
    uses: util.echo
    with: {value: "{{ steps.trigger.event.answers_by_ref.email }}"}
""",
    "signed-generic": """\
name: signed-generic
trigger:
  http:
    path: signed
    verify: {scheme: standard_webhooks, secret: env:SIGNED_HOOK_SECRET}
    idempotency_key: "{{ headers['webhook-id'] }}"
    raw_body: true
steps:
  - name: raw
    uses: util.echo
    with: {value: "{{ steps.trigger.event.raw_body }}"}
""",
    "clevertap-journey": """\
name: clevertap-journey
trigger:
  source: {uses: clevertap.webhook, account: ct-hooks, path: clevertap}
steps:
  - name: who
    uses: util.echo
    with:
      value: "{{ steps.trigger.event.identity }} {{ steps.trigger.event.key_values.coupon }}"
""",
    "github-pushes": """\
name: github-pushes
trigger:
  http:
    path: github
    verify:
      scheme: hmac
      account: github-hooks
      header: X-Hub-Signature-256
      prefix: "sha256="
    idempotency_key: "{{ headers['x-github-delivery'] }}"
steps:
  - name: ref
    uses: util.echo
    with: {value: "{{ steps.trigger.event.body.ref }}"}
""",
}


def sample(source: str, **changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(discover().source(source).sample))
    body.update(changes)
    return body


def hmac_b64(secret: str, body: bytes, algorithm: str = "sha256") -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, algorithm).digest()).decode()


def stripe_headers(body: bytes, secret: str, at: float | None = None) -> dict[str, str]:
    """https://docs.stripe.com/webhooks#verify-manually: t=<ts>,v1=<hex HMAC of 't.body'>"""
    stamp = str(int(at if at is not None else time.time()))
    v1 = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"stripe-signature": f"t={stamp},v1={v1}"}


def shopify_headers(
    body: bytes, secret: str, topic: str = "orders/create", event_id: str | None = None
) -> dict[str, str]:
    """https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook"""
    return {
        "x-shopify-hmac-sha256": hmac_b64(secret, body),
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": "relayflow-demo.myshopify.com",
        "x-shopify-webhook-id": str(uuid.uuid4()),
        "x-shopify-event-id": event_id or str(uuid.uuid4()),
        "x-shopify-api-version": "2025-01",
    }


def segment_headers(body: bytes, secret: str) -> dict[str, str]:
    """Segment's Webhooks destination: X-Signature = hex HMAC-SHA1 of the body."""
    return {"x-signature": hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def typeform_headers(body: bytes, secret: str) -> dict[str, str]:
    """https://www.typeform.com/developers/webhooks/secure-your-webhooks/"""
    return {"typeform-signature": "sha256=" + hmac_b64(secret, body)}


def standard_headers(body: bytes, secret: str, msg_id: str, at: float | None = None) -> dict:
    """https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md"""
    stamp = str(int(at if at is not None else time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{stamp}.".encode() + body
    value = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": f"v1,{value}"}


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers={"content-type": "application/json", **headers})


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()
