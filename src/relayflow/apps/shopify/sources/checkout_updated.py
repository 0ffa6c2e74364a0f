"""Checkout Updated: a checkout was started or changed (checkouts/create, checkouts/update),
the basis of abandoned-cart flows: `completed_at` is set once it became an order."""

from __future__ import annotations

from typing import Any

from relayflow.apps.shopify import freshen, headers, receive, sign
from relayflow.sdk import Delivery, Received, SourceContext, SourceInputs, webhook_source

SAMPLE: dict[str, Any] = {
    "id": 981820079255243537,
    "token": "cd7d2ea1a7ae7a1b5b0f4a1c",
    "cart_token": "eeafa272cebfd4b22385bc4b645e762c",
    "email": "ada@example.com",
    "created_at": "2026-12-03T10:00:00-05:00",
    "updated_at": "2026-12-03T10:05:00-05:00",
    "completed_at": None,
    "abandoned_checkout_url": "https://relayflow-demo.myshopify.com/checkouts/cd7d2ea1/recover",
    "currency": "USD",
    "total_price": "19.90",
    "customer": {"id": 115310627314723954, "email": "ada@example.com", "first_name": "Ada"},
    "line_items": [
        {
            "product_id": 632910392,
            "title": "Analytical Engine Notebook",
            "quantity": 1,
            "price": "19.90",
            "sku": "IPOD-342-N",
        },
    ],
}


class Inputs(SourceInputs):
    pass


@webhook_source(
    "shopify.checkout_updated",
    title="Checkout Started or Updated",
    docs="https://shopify.dev/docs/api/webhooks?reference=toml#list-of-topics-checkouts/update",
    sample=SAMPLE,
    signer=sign,
    sample_headers=headers("checkouts/create"),
    freshen=freshen,
)
def checkout_updated(delivery: Delivery, ctx: SourceContext[Inputs]) -> Received:
    """The checkout as Shopify sends it, for checkouts/create and checkouts/update: key
    reminders by its `token`; `completed_at` is set once the checkout became an order."""
    return receive(delivery, ctx, ("checkouts/create", "checkouts/update"))
