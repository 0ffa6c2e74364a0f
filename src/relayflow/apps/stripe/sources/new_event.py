"""New Event: every event Stripe sends to the endpoint, or only the types you choose."""

from __future__ import annotations

from typing import Any

from relayflow.apps.stripe import sign, verify
from relayflow.sdk import (
    Delivery,
    Received,
    Refused,
    SourceContext,
    SourceInputs,
    field,
    webhook_source,
)


class Inputs(SourceInputs):
    types: list[str] = field(
        [],
        label="Event types",
        doc="Only these start runs (others are acknowledged and counted); empty: every type."
        " https://docs.stripe.com/api/events/types",
        examples=[["checkout.session.completed", "charge.succeeded"]],
    )


SAMPLE: dict[str, Any] = {
    "id": "evt_1QsampleCheckoutDone",
    "object": "event",
    "api_version": "2024-06-20",
    "created": 1764750000,
    "livemode": False,
    "type": "checkout.session.completed",
    "pending_webhooks": 1,
    "request": {"id": None, "idempotency_key": None},
    "data": {
        "object": {
            "id": "cs_test_a1Sample",
            "object": "checkout.session",
            "amount_subtotal": 4200,
            "amount_total": 4200,
            "currency": "usd",
            "customer": "cus_Sample1001",
            "customer_details": {
                "email": "ada@example.com",
                "name": "Ada Lovelace",
                "phone": "+14155550100",
            },
            "client_reference_id": "u-1001",
            "metadata": {"plan": "pro"},
            "mode": "payment",
            "payment_intent": "pi_Sample1001",
            "payment_status": "paid",
            "status": "complete",
        }
    },
}


def freshen(body: dict[str, Any], headers: dict[str, str], suffix: str) -> tuple[dict, dict]:
    return {**body, "id": f"{body['id']}{suffix}"}, headers


@webhook_source(
    "stripe.new_event",
    title="New Event",
    docs="https://docs.stripe.com/webhooks#verify-events",
    sample=SAMPLE,
    signer=sign,
    freshen=freshen,
)
def new_event(delivery: Delivery, ctx: SourceContext[Inputs]) -> Received:
    """A Stripe event (the event object Stripe documents) for each delivery, verified with
    the endpoint's signing secret; Stripe's retries of one event run once (by event id)."""
    verify(delivery, ctx.secret("webhook_secret"))
    event = delivery.json()
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or "type" not in event:
        raise Refused("the body is not a Stripe event (it needs id and type)", status=400)
    kind = str(event["type"])
    wanted = not ctx.inputs.types or kind in ctx.inputs.types
    context = {"livemode": bool(event.get("livemode"))}
    return Received.one(event, key=event["id"], type=kind, wanted=wanted, context=context)
