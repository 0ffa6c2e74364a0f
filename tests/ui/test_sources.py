"""A workflow that starts with an app's event, built in the browser: pick the source,
its account, see its sample in the data explorer, deploy, send a signed sample, read the
deliveries."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from conftest import Relayflow


def test_a_shopify_order_workflow_is_built_deployed_and_fed_a_signed_sample(
    page: Any, installation: Relayflow
) -> None:
    with installation.api() as api:
        fields = {"shop": "relayflow-demo.myshopify.com", "webhook_secret": "ui-shop-secret"}
        answer = api.post("/accounts", json={"app": "shopify", "name": "ui-shop", "fields": fields})
        assert answer.status_code == 201, answer.text
    page.goto("/workflows/new")
    page.get_by_label("Workflow name").fill("ui-shop-orders")
    page.get_by_label("Starts when").select_option("source")
    page.get_by_label("App and event").select_option("shopify.new_order")
    page.get_by_label("Shopify account").select_option("ui-shop")
    page.get_by_label("Path", exact=True).fill("ui/shop/orders")
    expect(page.get_by_label("URL to paste into Shopify")).to_have_value(
        re.compile(r"/hooks/ui/shop/orders$")
    )
    expect(page.locator("#source-secret-help")).to_contain_text("Client secret")
    # Before any real order, the explorer shows the source's sample order.
    explorer = page.locator("#explorer")
    line = explorer.get_by_role("button", name="Insert steps.trigger.event.line_items[0].title")
    expect(line).to_be_visible()

    page.get_by_role("button", name="+ Add a step").click()
    page.get_by_role("combobox", name="Search actions").fill("echo")
    page.keyboard.press("Enter")
    page.get_by_label(re.compile("^Value")).fill("{{ steps.trigger.event.name }}")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#wf-status")).to_contain_text("Version 1 deployed · active")

    page.reload()
    page.get_by_role("button", name="Send a signed sample delivery").click()
    expect(page.get_by_role("link", name=re.compile("^run "))).to_be_visible()
    deliveries = page.locator("#deliveries")
    expect(deliveries.locator(".delivery.accepted").first).to_be_visible()
    (run,) = installation.wait_runs(1, timeout=20)
    assert installation.inspect(run["id"])["steps"][0]["return_value"] == "#1001"
