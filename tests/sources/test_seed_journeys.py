"""The seed's journeys from real sources, as the demo runs them: `relayflow up --demo`, then
`relayflow send-sample` signing each app's sample delivery, through to the sandbox."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from conftest import Relayflow, free_port

from .helpers import encode, post, sample, shopify_headers

HEADERS = {"X-CleverTap-Account-Id": "TEST-RELAYFLOW", "X-CleverTap-Passcode": "sandbox-passcode"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Relayflow, str]]:
    home = tmp_path_factory.mktemp("journeys") / "home"
    home.mkdir()
    rf = Relayflow(
        home,
        f"sqlite:///{home / 'relayflow.db'}",
        {"RELAYFLOW_EXPOSED_ENV": "CHECKOUT_ABANDON_AFTER", "CHECKOUT_ABANDON_AFTER": "2s"},
    )
    sandbox_port = free_port()
    rf.port = free_port()
    proc = rf.spawn("up", "--demo", "--port", str(rf.port), "--sandbox-port", str(sandbox_port))
    rf.wait_healthy(proc)
    yield rf, f"http://127.0.0.1:{sandbox_port}"
    rf.stop_all()


def checkout(token: str, customer: int, completed_at: str | None = None) -> bytes:
    return encode(
        sample(
            "shopify.checkout_updated",
            token=token,
            completed_at=completed_at,
            customer={"id": customer, "email": f"{customer}@example.com"},
        )
    )


def send(rf: Relayflow, source: str, account: str, path: str, *extra: str) -> list[dict]:
    shown = rf.cli(
        "send-sample",
        source,
        "--account",
        account,
        "--to",
        f"{rf.url}/hooks/{path}",
        "--json",
        *extra,
    ).stdout
    return json.loads(shown)


def profile(sandbox: str, identity: str, wait_for: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    found: dict = {}
    while time.monotonic() < deadline:
        found = httpx.get(
            f"{sandbox}/1/profile.json", params={"identity": identity}, headers=HEADERS
        ).json()
        if wait_for in json.dumps(found.get("record", {})):
            return found["record"]
        time.sleep(0.2)
    raise AssertionError(f"{identity} never got {wait_for!r}: {found}")


def test_the_demo_prints_how_to_send_each_sample(demo: tuple[Relayflow, str]) -> None:
    rf, _sandbox = demo
    banner = rf.output().replace("\n", " ")
    for source in ("shopify.new_order", "stripe.new_event", "segment.new_call"):
        assert f"relayflow send-sample {source}" in banner


def test_a_shopify_order_becomes_charged_with_its_items_once(demo: tuple[Relayflow, str]) -> None:
    rf, sandbox = demo
    answers = send(rf, "shopify.new_order", "shopify-demo", "shopify/orders", "--repeat", "3")
    assert [a["body"]["accepted"] for a in answers] == [1, 0, 0]
    record = profile(sandbox, "115310627314723954", "Charged")
    assert record["events"]["Charged"]["count"] == 1


def test_a_stripe_checkout_becomes_charged(demo: tuple[Relayflow, str]) -> None:
    rf, sandbox = demo
    (answer,) = send(rf, "stripe.new_event", "stripe-demo", "stripe")
    assert answer["status"] == 200 and answer["body"]["accepted"] == 1
    assert profile(sandbox, "u-1001", "Charged")["events"]["Charged"]["count"] >= 1


def test_segment_identify_updates_the_profile(demo: tuple[Relayflow, str]) -> None:
    rf, sandbox = demo
    (answer,) = send(rf, "segment.new_call", "segment-demo", "segment")
    assert answer["body"]["accepted"] == 1
    record = profile(sandbox, "u-1001", "ada@example.com")
    assert record["profileData"]["Email"] == "ada@example.com"


def test_an_abandoned_shopify_checkout_gets_one_reminder_and_a_completed_one_none(
    demo: tuple[Relayflow, str],
) -> None:
    rf, sandbox = demo
    url = f"{rf.url}/hooks/shopify/checkouts"
    abandoned = checkout("tok-left", 501)
    started = checkout("tok-done", 502)
    completed = checkout("tok-done", 502, "2026-12-03T10:10:00Z")
    for body, topic in (
        (abandoned, "checkouts/create"),
        (started, "checkouts/create"),
        (completed, "checkouts/update"),
    ):
        headers = shopify_headers(body, "demo-shopify-secret", topic=topic)
        answer = post(url, body, headers)
        assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
    record = profile(sandbox, "501", "Cart Abandoned", timeout=30)
    assert record["events"]["Cart Abandoned"]["count"] == 1
    time.sleep(3)  # the completed checkout's run wakes at the same time and must send nothing
    other = httpx.get(f"{sandbox}/1/profile.json", params={"identity": "502"}, headers=HEADERS)
    assert "Cart Abandoned" not in json.dumps(other.json())
