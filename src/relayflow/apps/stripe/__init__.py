"""Stripe: payments, checkouts, subscriptions and customers, as signed webhook events.

Stripe signs each delivery with the endpoint's signing secret (`whsec_…`, Developers >
Webhooks > your endpoint): `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`, with several v1 while a secret is being rolled. Deliveries more than five
minutes from now are refused as replays (the tolerance of Stripe's own libraries).
"""

from __future__ import annotations

from relayflow.sdk import AccountField, App, Delivery, Refused
from relayflow.sdk.signatures import check_timestamp, digest, encode, same

DOCS = "https://docs.stripe.com/webhooks"
TOLERANCE = 300.0
HEADER = "Stripe-Signature"

APP = App(
    key="stripe",
    title="Stripe",
    description="Payments, checkouts and subscriptions from Stripe, as verified webhook events",
    docs=DOCS,
    account_fields=(
        AccountField(
            "webhook_secret",
            "Webhook signing secret",
            secret=True,
            help="whsec_… from Developers > Webhooks > your endpoint > Signing secret",
        ),
        AccountField(
            "api_key",
            "Secret API key",
            secret=True,
            required=False,
            help="sk_… from Developers > API keys (only for calling Stripe's API)",
        ),
    ),
)


def verify(delivery: Delivery, secret: str, tolerance: float = TOLERANCE) -> None:
    """Refuse a delivery that Stripe did not sign with `secret`, or that is stale."""
    header = delivery.require(HEADER)
    stamp: str | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            stamp = value
        elif name == "v1":
            signatures.append(value)
    if stamp is None or not signatures:
        raise Refused(f"the {HEADER} header needs t=<timestamp> and at least one v1=<signature>")
    check_timestamp(HEADER, stamp, tolerance, delivery.received_at)
    expected = encode(digest(secret.encode(), f"{stamp}.".encode() + delivery.body), "hex")
    if not any(same(given, expected) for given in signatures):
        raise Refused(f"no v1 signature in {HEADER} matches the body and the signing secret")


def sign(body: bytes, secret: str, now: float) -> dict[str, str]:
    """The header Stripe sends with `body`, signed at `now`."""
    stamp = str(int(now))
    value = encode(digest(secret.encode(), f"{stamp}.".encode() + body), "hex")
    return {HEADER: f"t={stamp},v1={value}"}
