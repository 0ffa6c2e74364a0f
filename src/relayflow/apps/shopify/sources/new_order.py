"""New Order: an order placed in the store (topic orders/create)."""

from __future__ import annotations

from typing import Any

from relayflow.apps.shopify import freshen, headers, receive, sign
from relayflow.sdk import Delivery, Received, SourceContext, SourceInputs, webhook_source

SAMPLE: dict[str, Any] = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "name": "#1001",
    "email": "ada@example.com",
    "phone": "+14155550100",
    "created_at": "2026-12-03T10:00:00-05:00",
    "currency": "USD",
    "total_price": "59.90",
    "subtotal_price": "54.90",
    "total_tax": "5.00",
    "financial_status": "paid",
    "customer": {
        "id": 115310627314723954,
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+14155550100",
    },
    "line_items": [
        {
            "id": 866550311766439020,
            "product_id": 632910392,
            "sku": "IPOD-342-N",
            "title": "Analytical Engine Notebook",
            "quantity": 1,
            "price": "19.90",
        },
        {
            "id": 141249953214522974,
            "product_id": 632910393,
            "sku": "PEN-01",
            "title": "Fountain Pen",
            "quantity": 2,
            "price": "17.50",
        },
    ],
}


class Inputs(SourceInputs):
    pass


@webhook_source(
    "shopify.new_order",
    title="New Order",
    docs="https://shopify.dev/docs/api/webhooks?reference=toml#list-of-topics-orders/create",
    sample=SAMPLE,
    signer=sign,
    sample_headers=headers("orders/create"),
    freshen=freshen,
)
def new_order(delivery: Delivery, ctx: SourceContext[Inputs]) -> Received:
    """The order as Shopify sends it (line_items, customer, totals), once per order even
    when Shopify delivers it again; the topic and shop are in steps.trigger.context."""
    return receive(delivery, ctx, ("orders/create",))
