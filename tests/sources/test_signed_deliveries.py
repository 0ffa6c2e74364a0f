"""Signed deliveries from each app: accepted once, refused when anything is off, on
SQLite and on PostgreSQL. A refused delivery stores no event."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import Relayflow

from .helpers import (
    SECRETS,
    encode,
    post,
    sample,
    segment_headers,
    shopify_headers,
    standard_headers,
    stripe_headers,
    typeform_headers,
)


def runs_of(installation: Relayflow, workflow: str) -> list[dict]:
    return installation.runs(workflow)


def result(installation: Relayflow, workflow: str) -> object:
    """The first step's result in the newest succeeded run of `workflow`."""
    run = _last(installation, workflow)
    return installation.inspect(run["id"])["steps"][0]["return_value"]


def _last(installation: Relayflow, workflow: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [r for r in runs_of(installation, workflow) if r["status"] == "succeeded"]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no succeeded run of {workflow}: {runs_of(installation, workflow)}")


def events_stored(installation: Relayflow, workflow: str) -> int:
    with installation.api() as api:
        return len(
            api.get(f"/workflows/{workflow}/deliveries", params={"limit": 200}).json()["accepted"]
        )


def test_stripe_event_runs_once_and_bad_signatures_are_refused(installation: Relayflow) -> None:
    url = f"{installation.url}/hooks/stripe"
    body = encode(sample("stripe.new_event", id="evt_stripe_once"))
    ok = post(url, body, stripe_headers(body, SECRETS["stripe"]))
    assert ok.status_code == 200 and ok.json()["accepted"] == 1, ok.text
    assert result(installation, "stripe-paid") == 4200

    before = events_stored(installation, "stripe-paid")
    tampered = body.replace(b"4200", b"1")
    refused = [
        post(url, tampered, stripe_headers(body, SECRETS["stripe"])),
        post(url, body, stripe_headers(body, "whsec_not_the_secret")),
        post(url, body, {}),
        post(url, body, stripe_headers(body, SECRETS["stripe"], at=time.time() - 600)),
    ]
    assert [r.status_code for r in refused] == [401, 401, 401, 401]
    reasons = [r.json()["error"] for r in refused]
    assert "no v1 signature in Stripe-Signature matches" in reasons[0]
    assert "no v1 signature in Stripe-Signature matches" in reasons[1]
    assert "the Stripe-Signature header is missing" in reasons[2]
    assert "stale or replayed" in reasons[3] and "more than 300s" in reasons[3]
    assert "whsec" not in " ".join(reasons)
    assert events_stored(installation, "stripe-paid") == before
    with installation.api() as api:
        skipped = api.get("/workflows/stripe-paid/deliveries").json()["skipped"]
    assert any(s["outcome"] == "refused" and "stale" in (s["reason"] or "") for s in skipped)


def test_a_delivery_sent_three_times_at_once_makes_one_run(installation: Relayflow) -> None:
    url = f"{installation.url}/hooks/stripe"
    body = encode(sample("stripe.new_event", id="evt_stripe_thrice"))
    headers = stripe_headers(body, SECRETS["stripe"])
    before = len(runs_of(installation, "stripe-paid"))
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: post(url, body, headers), range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert sorted(a.json()["accepted"] for a in answers) == [0, 0, 1]
    assert sum(a.json()["duplicates"] for a in answers) == 2
    again = post(url, body, stripe_headers(body, SECRETS["stripe"]))  # a later retry
    assert again.json() == {**again.json(), "accepted": 0, "duplicates": 1}
    time.sleep(0.5)
    assert len(runs_of(installation, "stripe-paid")) == before + 1


def test_a_type_the_workflow_did_not_subscribe_to_is_acknowledged_without_a_run(
    installation: Relayflow,
) -> None:
    url = f"{installation.url}/hooks/stripe"
    body = encode(sample("stripe.new_event", id="evt_refund", type="charge.refunded"))
    answer = post(url, body, stripe_headers(body, SECRETS["stripe"]))
    assert answer.status_code == 200 and answer.json()["ignored"] == 1
    assert answer.json()["accepted"] == 0
    with installation.api() as api:
        skipped = api.get("/workflows/stripe-paid/deliveries").json()["skipped"]
    assert any(s["outcome"] == "ignored" and s["event_type"] == "charge.refunded" for s in skipped)
    assert not any(r for r in runs_of(installation, "stripe-paid") if "evt_refund" in json.dumps(r))


def test_shopify_order_keeps_topic_and_shop_and_dedupes_on_the_event_id(
    installation: Relayflow,
) -> None:
    url = f"{installation.url}/hooks/shopify/orders"
    body = encode(sample("shopify.new_order"))
    headers = shopify_headers(body, SECRETS["shopify"], event_id="evt-order-1")
    first = post(url, body, headers)
    assert first.status_code == 200 and first.json()["accepted"] == 1, first.text
    (run_id,) = first.json()["run_ids"]
    retried = post(url, body, {**headers, "x-shopify-webhook-id": "another-delivery"})
    assert retried.json()["duplicates"] == 1
    run = installation.inspect(run_id)
    assert run["event_context"]["topic"] == "orders/create"
    assert run["event_context"]["shop"] == "relayflow-demo.myshopify.com"
    _last(installation, "shop-orders")
    assert installation.inspect(run_id)["steps"][0]["return_value"] == 2

    wrong = post(url, body.replace(b"Fountain", b"Founta1n"), headers)
    assert (
        wrong.status_code == 401 and "X-Shopify-Hmac-Sha256 signature does not match" in wrong.text
    )
    other_shop = shopify_headers(body, SECRETS["shopify"])
    other_shop["x-shopify-shop-domain"] = "someone-else.myshopify.com"
    assert post(url, body, other_shop).status_code == 401
    checkout = post(url, body, shopify_headers(body, SECRETS["shopify"], topic="checkouts/create"))
    assert checkout.status_code == 200 and checkout.json()["ignored"] == 1


def test_segment_calls_are_verified_with_sha1_and_filtered_by_type(installation: Relayflow) -> None:
    url = f"{installation.url}/hooks/segment"
    body = encode(sample("segment.new_call", messageId="msg-identify-1"))
    ok = post(url, body, segment_headers(body, SECRETS["segment"]))
    assert ok.status_code == 200 and ok.json()["accepted"] == 1, ok.text
    assert result(installation, "segment-calls") == "u-1001"
    page = encode(sample("segment.new_call", messageId="msg-page-1", type="page"))
    assert post(url, page, segment_headers(page, SECRETS["segment"])).json()["ignored"] == 1
    bad = post(url, body, segment_headers(body, "not-the-secret"))
    assert bad.status_code == 401 and "X-Signature" in bad.json()["error"]


def test_typeform_answers_are_flattened_by_ref(installation: Relayflow) -> None:
    url = f"{installation.url}/hooks/typeform"
    body = encode(sample("typeform.new_response", event_id="tf-event-1"))
    ok = post(url, body, typeform_headers(body, SECRETS["typeform"]))
    assert ok.status_code == 200 and ok.json()["accepted"] == 1, ok.text
    assert result(installation, "typeform-signups") == "ada@example.com"
    (run_id,) = ok.json()["run_ids"]
    event = installation.inspect(run_id)["event"]
    assert event["answers_by_ref"] == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "plan": "Pro",
        "newsletter": True,
    }
    unsigned = post(url, body, {"typeform-signature": "sha1=whatever"})
    assert unsigned.status_code == 401 and "does not start with 'sha256='" in unsigned.text


def test_http_trigger_verifies_standard_webhooks_and_keeps_the_raw_body(
    installation: Relayflow,
) -> None:
    url = f"{installation.url}/hooks/signed"
    body = b'{"type": "user.created",  "data": {"id": "user_1"}}'  # spacing kept as sent
    headers = standard_headers(body, SECRETS["standard"], "msg_standard_1")
    first = post(url, body, headers)
    assert first.status_code == 200 and "run_id" in first.json(), first.text
    assert post(url, body, headers).json() == {
        "ok": True,
        "duplicate": True,
        "key": "msg_standard_1",
    }
    assert result(installation, "signed-generic") == body.decode()
    stale = standard_headers(body, SECRETS["standard"], "msg_standard_2", at=time.time() - 900)
    assert post(url, body, stale).status_code == 401
    forged = standard_headers(body, "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", "m3")
    answer = post(url, body, forged)
    assert answer.status_code == 401 and "webhook-signature" in answer.json()["error"]


def test_an_http_trigger_checks_an_hmac_header_with_an_accounts_secret(
    installation: Relayflow,
) -> None:
    """GitHub's scheme (X-Hub-Signature-256: sha256=<hex>), which relayflow ships no source
    for, with the secret kept in an account rather than the file."""
    url = f"{installation.url}/hooks/github"
    body = b'{"ref": "refs/heads/main", "after": "c0ffee"}'
    digest = hmac.new(SECRETS["github"].encode(), body, hashlib.sha256).hexdigest()
    headers = {"x-hub-signature-256": f"sha256={digest}", "x-github-delivery": "gh-1"}
    assert post(url, body, headers).status_code == 200
    assert post(url, body, headers).json()["duplicate"] is True
    assert result(installation, "github-pushes") == "refs/heads/main"
    wrong = post(url, body.replace(b"main", b"evil"), headers)
    assert wrong.status_code == 401
    assert "X-Hub-Signature-256 signature does not match" in wrong.json()["error"]
