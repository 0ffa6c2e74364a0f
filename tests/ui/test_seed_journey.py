"""The CleverTap + Pipedream guide's journey, in the browser, as a new user walks it.

Sign in → new workflow with an HTTP trigger → "+" → search "CleverTap" → Create or Update
User → connect a CleverTap account (the local sandbox), test the connection, save → map
Email, Name, Phone and Identity by clicking in the data explorer → test the step and see
CleverTap's success → deploy → send a webhook with curl → find the run in the inspector →
open its steps → see the profile in the sandbox's dashboard.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from conftest import Relayflow
from relayflow.sandbox import SandboxServer

from .helpers import (
    SCREENSHOTS,
    add_account,
    curl_available,
    deploy,
    fill_account_form,
    post_hook,
    shoot,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SIGNUP = {
    "user_id": "u-7001",
    "email": "grace@example.com",
    "name": "Grace Hopper",
    "phone": "+14155550123",
    "plan": "pro",
}


def test_a_new_user_builds_tests_deploys_and_inspects_the_signup_workflow(
    page: Any, installation: Relayflow, sandbox: SandboxServer
) -> None:
    # Workflows: nothing yet, so the page says how to start.
    expect(page.get_by_role("heading", name="No workflows yet")).to_be_visible()
    page.get_by_role("link", name="New workflow").click()

    # The workflow and its HTTP trigger; the webhook URL follows the name.
    page.get_by_label("Workflow name").fill("signup-to-clevertap")
    expect(page.get_by_label("Starts when")).to_have_value("http")
    page.get_by_label("Path", exact=True).fill("signup")
    expect(page.get_by_label("Webhook URL")).to_have_value(f"{installation.url}/hooks/signup")
    test_event = page.get_by_label("Test event (JSON)")
    test_event.fill(json.dumps({"method": "POST", "path": "/signup", "body": SIGNUP}, indent=2))

    # "+" opens the action library, keyboard only: search, arrows, Enter.
    page.get_by_role("button", name="+ Add a step").focus()
    page.keyboard.press("Enter")
    search = page.get_by_role("combobox", name="Search actions")
    expect(search).to_be_focused()
    search.fill("CleverTap")
    options = page.get_by_role("option")
    expect(options.filter(has_text="Upload User Events")).to_have_count(1)
    titles = [t.strip() for t in page.locator("#library-results .lib-title").all_inner_texts()]
    assert {
        "Create or Update User",
        "Upload User Events",
        "Build any CleverTap API request",
    } <= set(titles), titles
    assert all(
        app.strip().lower() == "clevertap" for app in page.locator(".lib-app").all_inner_texts()
    )
    shoot(page, "ui-action-library")
    for _ in range(titles.index("Create or Update User")):
        page.keyboard.press("ArrowDown")
    expect(page.locator("#library-results [aria-selected=true]")).to_contain_text(
        "Create or Update User"
    )
    page.keyboard.press("Enter")
    step = page.locator("section.step[data-step]")
    expect(step).to_have_count(1)
    expect(step.get_by_role("heading", name="Create or Update User")).to_be_visible()

    # Connect a CleverTap account inline: fields, test connection, save.
    form = fill_account_form(step, "clevertap-sandbox", sandbox)
    form.get_by_role("button", name="Test connection").click()
    expect(form.locator(".success")).to_contain_text("Connection works")
    form.get_by_role("button", name="Save account").click()
    expect(step.get_by_role("status").filter(has_text="Connected")).to_have_text(
        "Connected clevertap-sandbox; this step uses it."
    )
    picker = step.get_by_role("combobox", name=re.compile("^CleverTap account"))
    expect(picker).to_have_value("clevertap-sandbox")

    # Map fields by clicking paths of the test event in the data explorer.
    explorer = page.locator("#explorer")
    for label, field in (
        ("Email", "email"),
        ("Name", "name"),
        ("Phone number", "phone"),
        ("Identity", "user_id"),
    ):
        box = step.get_by_label(re.compile(rf"^{label}\b"))
        box.click()
        explorer.get_by_role("button", name=f"Insert steps.trigger.event.body.{field}").click()
        expect(box).to_have_value(f"{{{{ steps.trigger.event.body.{field} }}}}")
        expect(box).to_be_focused()

    # Test the step: the sandbox (CleverTap) accepted the profile.
    step.get_by_role("button", name=re.compile("^Test step")).click()
    result = step.locator("[data-result]")
    expect(result.locator(".badge")).to_have_text("succeeded")
    expect(result).to_contain_text("Profile u-7001 created or updated")
    expect(result).to_contain_text('"status": "success"')
    # The step's result is now in the explorer for later steps.
    expect(explorer).to_contain_text("steps.upload_profile.$return_value")
    expect(page.locator("#wf-status")).to_have_text("Draft (not deployed)")
    if SCREENSHOTS:  # the step and the explorer, as they look side by side
        page.set_viewport_size({"width": 1360, "height": 1300})
        step.scroll_into_view_if_needed()
        page.evaluate("document.querySelector('section.step[data-step]').scrollIntoView()")
        shoot(page, "ui-builder")
        page.set_viewport_size({"width": 1360, "height": 900})

    # Deploy: version 1, live.
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#wf-status")).to_contain_text("Version 1 deployed · active")
    expect(page).to_have_url(re.compile(r"/workflows/signup-to-clevertap$"))

    # A real sign-up arrives by curl.
    body = {**SIGNUP, "user_id": "u-7002", "email": "ada@example.com", "name": "Ada Lovelace"}
    hook = f"{installation.url}/hooks/signup"
    if curl_available():
        sent = subprocess.run(
            ["curl", "-sS", "-X", "POST", hook, "-H", "content-type: application/json",
             "-d", json.dumps(body)],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        answer = json.loads(sent.stdout)
    else:  # pragma: no cover - curl is on every machine we run on
        answer = httpx.post(hook, json=body, timeout=30).json()
    assert answer["ok"] is True

    # The run, found in the event history by searching its payload, then inspected.
    page.get_by_role("link", name="Runs", exact=True).click()
    page.get_by_label("Search event payloads").fill("ada@example.com")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#runs-table tbody tr")
    expect(rows).to_have_count(1)
    shoot(page, "ui-runs")
    rows.first.get_by_role("link", name=re.compile("^Inspect")).click()
    expect(page).to_have_url(re.compile(rf"/runs/{answer['run_id']}$"))
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=20_000)
    step_result = page.locator(".step-result").first
    expect(step_result.locator(".step-name")).to_have_text("upload_profile")
    expect(step_result).to_contain_text("Profile u-7002 created or updated")
    expect(step_result.get_by_label("Inputs of upload_profile")).to_contain_text(
        '"email": "ada@example.com"'
    )
    expect(step_result.get_by_label("Return value of upload_profile")).to_contain_text(
        '"status": "success"'
    )
    expect(page.get_by_label("Trigger event")).to_contain_text('"user_id": "u-7002"')
    shoot(page, "ui-run-inspector", full_page=True)

    # And CleverTap (the sandbox's dashboard) shows the profile.
    page.goto(sandbox.dashboard_url)
    expect(page.locator("body")).to_contain_text("u-7002")
    expect(page.locator("body")).to_contain_text("ada@example.com")

    # The workflows list now shows it live, with its run.
    if SCREENSHOTS:
        with_more_workflows(installation, sandbox)
    page.goto("/workflows")
    row = page.locator("tr[data-workflow='signup-to-clevertap']")
    expect(row.locator(".badge").first).to_have_text("active")
    expect(row).to_contain_text("HTTP /hooks/signup")
    shoot(page, "ui-workflows")
    page.goto("/accounts")
    expect(page.locator("tr[data-account='clevertap-sandbox']")).to_contain_text("••••••")
    expect(page.locator("body")).not_to_contain_text(sandbox.passcode)
    shoot(page, "ui-accounts")


def with_more_workflows(installation: Relayflow, sandbox: SandboxServer) -> None:
    """For the README's screenshot: the other examples, with a few runs (one fails)."""
    add_account(installation, "clevertap-demo", sandbox)
    for name in ("purchase-to-charged", "cart-abandonment", "echo"):
        deploy(installation, (EXAMPLES / f"{name}.yaml").read_text())
    for n in range(3):
        post_hook(installation, "echo", {"email": f"user{n}@example.com", "name": "Ann"})
    post_hook(installation, "echo", {"name": "no email"})
    items = [{"Category": "books", "Book name": "SICP", "Quantity": 1}]
    post_hook(installation, "purchase", {"order_id": "o-1", "user_id": "u-7002", "total": 42.5,
                                         "items": items})  # fmt: skip
    installation.wait_runs(5, timeout=30)
