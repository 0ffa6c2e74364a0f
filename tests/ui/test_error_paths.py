"""What the UI shows when something is wrong: it names the problem and where it is."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from playwright.sync_api import expect

from conftest import Relayflow
from relayflow.sandbox import SandboxServer

from .helpers import add_account, deploy

PROFILE = """
name: {name}
trigger:
  http: {{path: {name}}}
steps:
  - name: upsert
    uses: clevertap.upload_profile
    account: ct
    with:
      identity: "{{{{ steps.trigger.event.body.user_id }}}}"
      phone: "{{{{ steps.trigger.event.body.phone }}}}"
"""


def open_builder(page: Any, name: str, body: dict) -> Any:
    """The builder of `name` with `body` as the test event's body; returns the step card."""
    page.goto(f"/workflows/{name}")
    page.get_by_label("Test event (JSON)").fill(json.dumps({"method": "POST", "body": body}))
    return page.locator("section.step[data-step='upsert']")


def test_a_wrong_password_is_refused_and_nothing_is_reachable_without_signing_in(
    browser: Any, installation: Relayflow
) -> None:
    context = browser.new_context(base_url=installation.url)
    tab = context.new_page()
    tab.goto("/runs?status=failed")
    expect(tab).to_have_url(re.compile(r"/login\?next=%2Fruns%3Fstatus%3Dfailed$"))
    tab.get_by_label("User name").fill("admin")
    tab.get_by_label("Password").fill("not-the-password")
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("alert")).to_have_text("That user name and password do not match.")
    expect(tab.get_by_label("User name")).to_have_value("admin")
    context.close()
    assert httpx.get(f"{installation.url}/api/v1/workflows").status_code == 401


def test_bad_credentials_fail_the_connection_test_with_clevertaps_answer(
    page: Any, sandbox: SandboxServer
) -> None:
    page.goto("/accounts")
    page.get_by_role("button", name="Connect an account").click()
    form = page.locator("form.account-form")
    expect(form.get_by_label("App")).to_have_value("clevertap")
    form.get_by_label("Account name").fill("wrong-passcode")
    form.get_by_label("Account ID").fill(sandbox.account_id)
    form.get_by_label("Passcode").fill("not-the-passcode")
    form.get_by_label("Endpoint").fill(sandbox.url)
    form.get_by_role("button", name="Test connection").click()
    failure = form.locator(".error")
    expect(failure).to_contain_text("Connection failed")
    expect(failure).to_contain_text("HTTP 401: Invalid Credentials")
    expect(failure).not_to_contain_text("not-the-passcode")

    # Saving tests it again and refuses; saved anyway, the account's own Test button says
    # the same; removing it works.
    form.get_by_role("button", name="Save account").click()
    expect(failure).to_contain_text("Not saved: the connection test failed")
    expect(failure).to_contain_text("HTTP 401: Invalid Credentials")
    expect(page.locator("tr[data-account='wrong-passcode']")).to_have_count(0)
    form.get_by_role("button", name="Save anyway").click()
    row = page.locator("tr[data-account='wrong-passcode']")
    row.get_by_role("button", name="Test wrong-passcode").click()
    expect(row.locator(".result")).to_contain_text("Invalid Credentials")
    row.get_by_role("button", name="Remove wrong-passcode").click()
    expect(page.locator("tr[data-account='wrong-passcode']")).to_have_count(0)


def test_a_failing_step_shows_clevertaps_per_record_failure(
    page: Any, installation: Relayflow, sandbox: SandboxServer
) -> None:
    add_account(installation, "ct", sandbox)
    deploy(installation, PROFILE.format(name="phones"))
    step = open_builder(page, "phones", {"user_id": "u-1", "phone": "4155550100"})
    # Let CleverTap itself judge the record (relayflow checks the same rules first): a
    # true/false input is a checkbox, ticked by default.
    rules = step.get_by_role("checkbox", name=re.compile("^Check CleverTap's rules first"))
    expect(rules).to_be_checked()
    rules.uncheck()
    page.get_by_role("button", name="Test workflow").click()

    result = step.locator("[data-result]")
    expect(result.locator(".badge")).to_have_text("failed")
    expect(result.locator(".error")).to_contain_text(
        "CleverTap rejected the profile for identity 'u-1' (code 516)"
    )
    expect(result.get_by_label("Error details")).to_contain_text("Skipped record number : 1")
    problems = page.get_by_role("alert").filter(has_text="Test failed")
    expect(problems).to_contain_text('Phone "4155550100" has no country code')


def test_an_invalid_expression_is_named_before_and_while_running(
    page: Any, installation: Relayflow, sandbox: SandboxServer
) -> None:
    add_account(installation, "ct", sandbox)
    deploy(installation, PROFILE.format(name="typos"))
    step = open_builder(page, "typos", {"user_id": "u-2", "phone": "+14155550100"})
    phone = step.get_by_label(re.compile("^Phone number"))

    # Unbalanced braces: the draft is refused with the field that holds them.
    phone.fill("{{ steps.trigger.event.body.phone ")
    page.get_by_role("button", name="Test workflow").click()
    problems = page.get_by_role("alert").filter(has_text="cannot be tested")
    expect(problems).to_contain_text("steps[0].with.phone")
    expect(problems).to_contain_text("is not a valid template")

    # A path that is not in the event: the step fails naming the path.
    phone.fill("{{ steps.trigger.event.body.mobile }}")
    page.get_by_role("button", name="Test workflow").click()
    result = step.locator("[data-result]")
    expect(result.locator(".error")).to_contain_text("ExpressionError")
    expect(result.locator(".error")).to_contain_text("mobile")
    expect(page.get_by_role("alert")).to_contain_text("step upsert")
