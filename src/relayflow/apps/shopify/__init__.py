"""Shopify: orders, checkouts and customers from your store, as signed webhook deliveries.

Shopify signs the raw body with the app's client secret: `X-Shopify-Hmac-Sha256:
<base64 HMAC-SHA256>`. The topic, the shop and the delivery's ids come in headers; the
same event delivered again carries the same `X-Shopify-Event-Id`, which deduplicates it
(older API versions send only `X-Shopify-Webhook-Id`). A delivery from another shop than
the account's is refused.
"""

from __future__ import annotations

from typing import Any

from relayflow.sdk import AccountField, App, Delivery, Received, Refused, SourceContext
from relayflow.sdk.signatures import check_hmac, digest, encode

DOCS = "https://shopify.dev/docs/apps/build/webhooks"
HMAC = "X-Shopify-Hmac-Sha256"

APP = App(
    key="shopify",
    title="Shopify",
    description="New orders, checkouts (for abandoned carts) and customers from your store",
    docs=DOCS,
    account_fields=(
        AccountField(
            "shop",
            "Shop domain",
            help="your-store.myshopify.com; deliveries from other shops are refused",
        ),
        AccountField(
            "webhook_secret",
            "Client secret",
            secret=True,
            help="the app's client secret (Settings > Apps > your app > API credentials), or the"
            " key shown under Settings > Notifications > Webhooks",
        ),
        AccountField(
            "access_token",
            "Admin API access token",
            secret=True,
            required=False,
            help="shpat_… (only for calling Shopify's Admin API)",
        ),
    ),
)


def receive(delivery: Delivery, ctx: SourceContext[Any], topics: tuple[str, ...]) -> Received:
    """Verify a Shopify delivery and emit its body when its topic is one of `topics`."""
    check_hmac(delivery, HMAC, ctx.secret("webhook_secret"), encoding="base64")
    topic = delivery.require("X-Shopify-Topic")
    shop = delivery.header("X-Shopify-Shop-Domain") or ""
    expected = str(ctx.account.get("shop") or "").strip().lower()
    if expected and shop.lower() != expected:
        raise Refused(f"the X-Shopify-Shop-Domain {shop!r} is not the account's shop {expected!r}")
    key = delivery.header("X-Shopify-Event-Id") or delivery.header("X-Shopify-Webhook-Id")
    context = {
        "topic": topic,
        "shop": shop,
        "api_version": delivery.header("X-Shopify-API-Version"),
        "webhook_id": delivery.header("X-Shopify-Webhook-Id"),
        "triggered_at": delivery.header("X-Shopify-Triggered-At"),
    }
    return Received.one(
        delivery.json(),
        key=key,
        type=topic,
        wanted=topic in topics,
        context={k: v for k, v in context.items() if v},
    )


def sign(body: bytes, secret: str, now: float) -> dict[str, str]:
    return {HMAC: encode(digest(secret.encode(), body), "base64")}


def headers(topic: str) -> dict[str, str]:
    """The headers Shopify sends besides the signature (for samples)."""
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "relayflow-demo.myshopify.com",
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Triggered-At": "2026-12-03T10:00:00.000000Z",
    }


def freshen(body: dict[str, Any], sent: dict[str, str], suffix: str) -> tuple[dict, dict]:
    """A sample with its own event id (each send is a new event, not a retry)."""
    return body, {**sent, "X-Shopify-Event-Id": f"{sent['X-Shopify-Event-Id']}-{suffix}"}
