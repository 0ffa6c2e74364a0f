"""Accounts (connect, test, rename, remove; secrets never shown) and data stores (browse,
edit, delete keys)."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import expect

from conftest import Relayflow
from relayflow.sandbox import SandboxServer


def test_an_account_is_connected_tested_renamed_and_removed(
    page: Any, installation: Relayflow, sandbox: SandboxServer
) -> None:
    page.goto("/accounts")
    page.get_by_role("button", name="Connect an account").click()
    form = page.locator("form.account-form")
    form.get_by_label("Account name").fill("ct-main")
    form.get_by_label("Account ID").fill(sandbox.account_id)
    form.get_by_label("Passcode").fill(sandbox.passcode)
    form.get_by_label("Region").select_option("in1")
    form.get_by_label("Endpoint").fill(sandbox.url)
    form.get_by_role("button", name="Save account").click()

    row = page.locator("tr[data-account='ct-main']")
    expect(row).to_contain_text("in1")
    expect(row).to_contain_text("passcode ••••••")
    assert sandbox.passcode not in page.content()
    row.get_by_role("button", name="Test ct-main").click()
    expect(row.locator(".result")).to_contain_text("Works: CleverTap accepted")

    page.answers.append("ct-renamed")
    row.get_by_role("button", name="Rename ct-main").click()
    renamed = page.locator("tr[data-account='ct-renamed']")
    expect(renamed).to_have_count(1)
    expect(page.locator("tr[data-account='ct-main']")).to_have_count(0)
    with installation.api() as api:
        assert api.get("/accounts/ct-renamed").json()["secrets"] == {"passcode": "set"}

    renamed.get_by_role("button", name="Remove ct-renamed").click()
    expect(page.locator("tr[data-account='ct-renamed']")).to_have_count(0)


def test_data_store_keys_are_browsed_edited_and_deleted(page: Any) -> None:
    page.goto("/stores")
    page.get_by_label("Open or create a store").fill("signups")
    page.get_by_role("button", name="Open").click()
    page.get_by_label("Key", exact=True).fill("u-1")
    page.get_by_label("Value (JSON)").fill('{"plan": "pro", "visits": 1}')
    page.get_by_role("button", name="Save key").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_have_text("Saved u-1")
    page.get_by_text("Add a key").click()
    page.get_by_label("Key", exact=True).fill("u-2")
    page.get_by_label("Value (JSON)").fill('"trial"')
    page.get_by_label("Expires after (seconds, optional)").fill("3600")
    page.get_by_role("button", name="Save key").click()

    entries = page.locator("li.entry")
    expect(entries).to_have_count(2)
    expect(entries.nth(1)).to_contain_text("expires")

    # Edit u-1's value in place; bad JSON is refused with the reason.
    value = page.get_by_label("Value of u-1 (JSON)")
    value.fill('{"plan": "pro", "visits": 2')
    page.get_by_role("button", name="Save u-1").click()
    expect(page.get_by_role("alert")).to_contain_text("is not JSON")
    page.get_by_label("Value of u-1 (JSON)").fill('{"plan": "pro", "visits": 2}')
    page.get_by_role("button", name="Save u-1").click()
    saved = json.loads(page.get_by_label("Value of u-1 (JSON)").input_value())
    assert saved == {"plan": "pro", "visits": 2}

    page.get_by_label("Keys starting with").fill("u-2")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("li.entry")).to_have_count(1)
    page.get_by_role("button", name="Delete u-2").click()
    expect(page.get_by_role("status").filter(has_text="Deleted")).to_have_text("Deleted u-2")

    page.goto("/stores")
    expect(page.locator("table.list")).to_contain_text("signups")
    expect(page.locator("table.list tbody tr")).to_contain_text("1")


PERSONAL_SEND = """\
name: ui-welcome
trigger: {http: {path: ui-welcome}}
steps:
  - name: welcome
    uses: clevertap.send_message
    account: ct-advice
    with:
      campaign_id: 1000001
      identities: "{{ steps.trigger.event.body.user_id }}"
      key_values: {Name: "{{ steps.trigger.event.body.name }}"}
"""


def test_an_account_whose_use_is_slow_says_how_to_fix_it(
    page: Any, installation: Relayflow, sandbox: SandboxServer
) -> None:
    fields = {"account_id": sandbox.account_id, "passcode": sandbox.passcode}
    fields["endpoint"] = sandbox.url
    body = {"app": "clevertap", "name": "ct-advice", "fields": fields, "test": False}
    with installation.api() as api:
        assert api.post("/accounts", json=body).status_code == 201
        assert api.post("/workflows", json={"source": PERSONAL_SEND}).status_code in (200, 201)
    try:
        page.goto("/accounts")
        advice = page.locator("tr[data-advice='ct-advice']")
        expect(advice).to_contain_text("ui-welcome: welcome personalises each message's")
        expect(advice).to_contain_text("--token TOKEN")

        token = {**body, "fields": {**fields, "token": sandbox.tokens[sandbox.account_id]}}
        with installation.api() as api:
            assert api.post("/accounts", json={**token, "replace": True}).status_code == 201
        page.reload()
        expect(page.locator("tr[data-account='ct-advice']")).to_have_count(1)
        expect(page.locator("tr[data-advice='ct-advice']")).to_have_count(0)
    finally:
        with installation.api() as api:
            api.delete("/workflows/ui-welcome")
            api.delete("/accounts/ct-advice")
