"""New Customer: a customer account was created in the store (customers/create)."""

from __future__ import annotations

from typing import Any

from relayflow.apps.shopify import freshen, headers, receive, sign
from relayflow.sdk import Delivery, Received, SourceContext, SourceInputs, webhook_source

SAMPLE: dict[str, Any] = {
    "id": 706405506930370084,
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "phone": "+14155550100",
    "created_at": "2026-12-03T10:00:00-05:00",
    "state": "enabled",
    "verified_email": True,
    "tags": "newsletter",
    "email_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in"},
}


class Inputs(SourceInputs):
    pass


@webhook_source(
    "shopify.new_customer",
    title="New Customer",
    docs="https://shopify.dev/docs/api/webhooks?reference=toml#list-of-topics-customers/create",
    sample=SAMPLE,
    signer=sign,
    sample_headers=headers("customers/create"),
    freshen=freshen,
)
def new_customer(delivery: Delivery, ctx: SourceContext[Inputs]) -> Received:
    """The customer as Shopify sends it (email, names, phone, marketing consent)."""
    return receive(delivery, ctx, ("customers/create",))
