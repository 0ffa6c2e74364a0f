"""The schemes as the apps' official libraries implement them: what relayflow signs, they
accept; what they sign, relayflow accepts."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
import stripe

from relayflow.apps.stripe import sign as stripe_sign
from relayflow.apps.stripe import verify as stripe_verify
from relayflow.sdk import Delivery, Refused, discover
from relayflow.sdk.signatures import check_standard_webhooks, sign_standard_webhooks

from .helpers import SECRETS


def delivery(body: bytes, headers: dict[str, str]) -> Delivery:
    return Delivery("POST", "/hooks/x", {k.lower(): v for k, v in headers.items()}, {}, body)


def test_stripe_library_accepts_what_send_sample_signs() -> None:
    source = discover().source("stripe.new_event")
    body, headers = source.sample_delivery(SECRETS["stripe"], "oracle1", time.time())
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRETS["stripe"])
    assert event["id"] == "evt_1QsampleCheckoutDoneoracle1"
    assert event["type"] == "checkout.session.completed"


def test_relayflow_accepts_what_the_stripe_library_signs_and_refuses_the_rest() -> None:
    payload = json.dumps({"id": "evt_lib", "object": "event", "type": "x"})
    stamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{stamp}.{payload}", SECRETS["stripe"])
    header = f"t={stamp},v1={signature}"
    stripe_verify(delivery(payload.encode(), {"Stripe-Signature": header}), SECRETS["stripe"])
    rotated = f"t={stamp},v1={'0' * 64},v1={signature}"  # during a secret roll: any v1 passes
    stripe_verify(delivery(payload.encode(), {"Stripe-Signature": rotated}), SECRETS["stripe"])
    with pytest.raises(Refused, match="no v1 signature"):
        stripe_verify(delivery(b"{}", {"Stripe-Signature": header}), SECRETS["stripe"])
    ours = stripe_sign(payload.encode(), SECRETS["stripe"], time.time() - 400)
    with pytest.raises(stripe.SignatureVerificationError):  # the library's tolerance, too
        stripe.Webhook.construct_event(payload, ours["Stripe-Signature"], SECRETS["stripe"])


def test_standard_webhooks_library_and_relayflow_agree() -> None:
    body = b'{"type": "invoice.paid", "data": {"id": "inv_1"}}'
    library = standardwebhooks.Webhook(SECRETS["standard"])
    ours = sign_standard_webhooks(body, SECRETS["standard"], time.time(), "msg_oracle")
    assert library.verify(body, ours) == json.loads(body)
    now = datetime.now(UTC).replace(microsecond=0)
    theirs = {
        "webhook-id": "msg_lib",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": library.sign("msg_lib", now, body.decode()),
    }
    assert check_standard_webhooks(delivery(body, theirs), SECRETS["standard"]) == "msg_lib"
