"""The examples/ workflows for the seed's use cases, end to end against the sandbox."""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from conftest import ROOT, Relayflow
from relayflow.cli.processes import DEMO_ACCOUNTS
from relayflow.sandbox import SandboxServer


@pytest.fixture
def sandbox(tmp_path):
    with SandboxServer(db_path=tmp_path / "sandbox.db") as server:
        yield server


def connect(rf: Relayflow, sandbox: SandboxServer) -> None:
    rf.cli(
        "accounts",
        "add",
        "clevertap",
        "clevertap-demo",
        "--account-id",
        sandbox.account_id,
        "--passcode",
        sandbox.passcode,
        "--endpoint",
        sandbox.url,
    )
    # The examples' sources name the demo's Shopify, Stripe and Segment accounts: a step
    # or trigger naming an account that is not connected is refused at deploy.
    for name, (app, fields) in DEMO_ACCOUNTS.items():
        rf.cli(
            "accounts",
            "add",
            app,
            name,
            *(f"--{k.replace('_', '-')}={v}" for k, v in fields.items()),
        )
    rf.cli("deploy", str(ROOT / "examples"))


def events_of(sandbox: SandboxServer, identity: str) -> dict:
    found = httpx.get(
        f"{sandbox.url}/1/profile.json", params={"identity": identity}, headers=sandbox.headers()
    ).json()
    return found.get("record", {}).get("events", {}) if found["status"] == "success" else {}


def cart(rf: Relayflow, kind: str, user: str, items: int = 1) -> None:
    body = {"type": kind, "user_id": user, "items": [{"sku": f"S{i}"} for i in range(items)]}
    assert httpx.post(f"{rf.url}/hooks/cart", json=body).status_code == 200


def test_cart_abandonment_sends_one_reminder_per_abandoned_cart(tmp_path, sandbox):
    rf = Relayflow(
        tmp_path / "home",
        f"sqlite:///{tmp_path / 'rf.db'}",
        {"RELAYFLOW_EXPOSED_ENV": "CART_ABANDON_AFTER", "CART_ABANDON_AFTER": "3s"},
    )
    rf.home.mkdir()
    try:
        connect(rf, sandbox)
        server = rf.start()
        cart(rf, "cart_updated", "abandoner", items=1)
        time.sleep(0.5)
        cart(rf, "cart_updated", "abandoner", items=3)  # resets the timer
        cart(rf, "cart_updated", "buyer")
        cart(rf, "checkout", "buyer")  # cancels the buyer's reminder
        cart(rf, "cart_updated", "restarted")
        time.sleep(1)
        rf.kill(server, signal.SIGKILL)  # a crash while every run sleeps in its delay
        rf.start()
        runs = rf.wait_runs(2, status="succeeded", timeout=30)
        rf.wait_runs(3, status="exited", timeout=30)
        time.sleep(1)
        reminders = {
            user: events_of(sandbox, user).get("Cart Abandoned", {}).get("count", 0)
            for user in ("abandoner", "buyer", "restarted")
        }
        assert reminders == {"abandoner": 1, "buyer": 0, "restarted": 1}
        assert len(runs) == 2
    finally:
        rf.stop_all()


def test_signup_and_purchase_examples(sqlite_relayflow, sandbox):
    rf = sqlite_relayflow
    connect(rf, sandbox)
    rf.start()
    signup = {
        "user_id": "u-7",
        "email": "ada@example.com",
        "name": "Ada",
        "phone": "+14155550100",
        "plan": "pro",
    }
    assert httpx.post(f"{rf.url}/hooks/signup", json=signup).status_code == 200
    purchase = (ROOT / "examples" / "purchase-to-charged.yaml").read_text()
    path = purchase.split("path:")[1].split()[0]
    order = {
        "user_id": "u-7",
        "order_id": "o-1",
        "total": 30,
        "items": [{"Category": "books", "Book name": "SICP", "Quantity": 1}],
    }
    answer = httpx.post(f"{rf.url}/hooks/{path}", json=order)
    assert answer.status_code == 200
    rf.wait_runs(2, timeout=30)
    events = events_of(sandbox, "u-7")
    assert events["Signed Up"]["count"] == 1
    assert events["Charged"]["count"] == 1


def test_api_tests_account_fields_before_saving(sqlite_relayflow, sandbox):
    rf = sqlite_relayflow
    rf.start()
    fields = {
        "account_id": sandbox.account_id,
        "passcode": sandbox.passcode,
        "endpoint": sandbox.url,
    }
    with rf.api() as api:
        good = api.post("/apps/clevertap/test-connection", json={"fields": fields}).json()
        assert good["ok"] is True
        bad = api.post(
            "/apps/clevertap/test-connection", json={"fields": {**fields, "passcode": "wrong"}}
        ).json()
        assert bad["ok"] is False and "passcode" in bad["error"].lower()
        missing = api.post(
            "/apps/clevertap/test-connection", json={"fields": {"passcode": "x"}}
        ).json()
        assert missing["ok"] is False and missing["field"] == "account_id"
        assert api.get("/accounts").json() == []
