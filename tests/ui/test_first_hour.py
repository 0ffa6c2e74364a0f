"""The first hour of a newcomer, in the browser (issue 16): mapping fields into JSON inputs,
testing step by step, renaming, removing and reordering steps, deploying, and reading runs.

The first test connects the only CleverTap account in the builder; later ones that need
it have it from the `only_account` fixture.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect

from conftest import Relayflow
from relayflow.sandbox import SandboxServer

from .helpers import add_account, deploy, fill_account_form, post_hook

ORDER = {
    "user_id": "u-8001",
    "email": "kay@example.com",
    "total": 42.5,
    "items": [{"Category": "books", "Book name": "SICP", "Quantity": 1}],
}


def add_step(page: Any, query: str, title: str) -> Any:
    """Add a step at the end through the library; its card (by position)."""
    steps = page.locator("section.step[data-step]")
    index = steps.count()
    page.get_by_role("button", name="+ Add a step", exact=True).click()
    page.get_by_role("combobox", name="Search actions").fill(query)
    page.get_by_role("option").filter(has_text=title).first.click()
    expect(steps).to_have_count(index + 1)
    return steps.nth(index)


def new_workflow(page: Any, name: str, body: dict) -> None:
    page.goto("/workflows/new")
    page.get_by_label("Workflow name").fill(name)
    page.get_by_label("Test event (JSON)").fill(json.dumps({"method": "POST", "body": body}))


def insert(page: Any, box: Any, path: str) -> None:
    """Click into `box` (at its end) and on `path` in the data explorer."""
    box.click()
    box.press("Control+End")
    page.locator("#explorer").get_by_role("button", name=f"Insert {path}", exact=True).click()


def source_of(installation: Relayflow, name: str) -> dict:
    with installation.api() as api:
        return yaml.safe_load(api.get(f"/workflows/{name}").json()["source"])


def test_json_inputs_keep_each_expressions_type_and_accounts_and_flags_need_no_typing(
    page: Any, installation: Relayflow, sandbox: SandboxServer
) -> None:
    new_workflow(page, "order-to-charged", ORDER)
    charged = add_step(page, "upload events", "Upload User Events")
    lookup = add_step(page, "api request", "Build any CleverTap API request")
    # Connecting the account in the first step gives it to every step of the app.
    form = fill_account_form(charged, "ct-only", sandbox)
    form.get_by_role("button", name="Save account").click()
    for step in (charged, lookup):
        expect(step.get_by_role("combobox", name=re.compile("^CleverTap account"))).to_have_value(
            "ct-only"
        )
    # A true/false input is a checkbox showing its default, not a text box.
    expect(charged.get_by_role("checkbox", name="Check CleverTap's rules first")).to_be_checked()
    expect(lookup.get_by_role("checkbox", name="Allow errors")).not_to_be_checked()

    insert(page, charged.get_by_label(re.compile("^Identity")), "steps.trigger.event.body.user_id")
    charged.get_by_label(re.compile("^Event name")).fill("Charged")
    data = charged.get_by_label(re.compile("^Event data"))
    data.fill('{"Amount": "{{ steps.trigger.event.body.total }}", "Items": ')
    insert(page, data, "steps.trigger.event.body.items")  # unquoted, as people type it
    data.press("Control+End")
    data.press_sequentially("}")
    lookup.get_by_label(re.compile("^Method")).fill("GET")
    lookup.get_by_label(re.compile("^Path")).fill("/1/profile.json")
    lookup.get_by_label(re.compile("^Query parameters")).fill(
        '{"identity": "{{ steps.trigger.event.body.user_id }}"}'
    )
    page.get_by_role("button", name="Test workflow").click()
    for name in ("upload_event", "api_request"):
        expect(page.locator(f"[data-result='{name}'] .badge")).to_have_text("succeeded")
    inputs = json.loads(page.locator("[data-result='upload_event'] details pre").text_content())
    assert inputs["event_data"] == {"Amount": 42.5, "Items": ORDER["items"]}

    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#wf-status")).to_contain_text("Version 1 deployed")
    steps = source_of(installation, "order-to-charged")["steps"]
    assert steps[0]["with"]["event_data"] == {
        "Amount": "{{ steps.trigger.event.body.total }}",
        "Items": "{{ steps.trigger.event.body.items }}",
    }
    assert steps[1]["with"]["query"] == {"identity": "{{ steps.trigger.event.body.user_id }}"}
    assert steps[1]["account"] == "ct-only" and "check_rules" not in steps[0]["with"]

    # A value of the wrong type: the error names the input, what it got and what it needs,
    # at the step, and the view goes there.
    query = lookup.get_by_label(re.compile("^Query parameters"))
    query.fill("")
    insert(page, query, "steps.trigger.event.body.user_id")
    lookup.get_by_role("button", name="Test step").click()
    result = lookup.locator("[data-result]")
    expect(result.locator(".error")).to_contain_text(
        "steps.api_request.with.query: expected an object, got text 'u-8001'"
    )
    expect(result).to_be_focused()


CHAIN = ("shape", "score", "final")


def three_echo_steps(page: Any, name: str) -> Any:
    new_workflow(page, name, ORDER)
    for step in CHAIN:
        card = add_step(page, "return a value", "Return a Value")
        card.get_by_label("Step name").fill(step)
        card.get_by_label("Step name").press("Tab")
    steps = page.locator("section.step[data-step]")
    steps.nth(0).get_by_label(re.compile("^Value")).fill("{{ steps.trigger.event.body.email }}")
    steps.nth(1).get_by_label(re.compile("^Value")).fill("{{ steps.shape.$return_value }}!")
    steps.nth(2).get_by_label(re.compile("^Value")).fill('{"s": "{{ steps.score.$return_value }}"}')
    return steps


def test_tests_are_drafts_and_not_activity_and_results_show_at_the_tested_step(
    page: Any, installation: Relayflow
) -> None:
    steps = three_echo_steps(page, "first-hour")
    # Four tests, as a newcomer makes them, fixing the mapping in between; the second
    # step's test shows under it.
    value = steps.nth(0).get_by_label(re.compile("^Value"))
    for fix in ("email }}", "email | trim }}", "email | lower }}"):
        value.fill("{{ steps.trigger.event.body." + fix)
        page.get_by_role("button", name="Test workflow").click()
        expect(page.locator("[data-result='final'] .badge")).to_have_text("succeeded")
    steps.nth(1).get_by_role("button", name="Test step score").click()
    result = steps.nth(1).locator("[data-result]")
    expect(result).to_contain_text('"kay@example.com!"')
    expect(result).to_be_focused()
    expect(result).to_be_in_viewport()
    expect(page.locator("#wf-status")).to_have_text("Draft (not deployed)")

    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("status").filter(has_text="Deployed")).to_have_text(
        "Deployed version 1"
    )
    page.get_by_role("button", name="Versions").click()
    dialog = page.get_by_role("dialog", name="Versions")
    expect(dialog.locator("#versions-body tr")).to_have_count(1)
    expect(dialog.locator("#versions-body")).to_contain_text("v1 (deployed)")
    expect(dialog.get_by_role("button", name=re.compile("Roll back"))).to_have_count(0)
    expect(dialog.locator("#drafts-body tr")).to_have_count(3)  # the three definitions tested
    dialog.get_by_role("button", name="Close").click()

    # One real run: the list counts it, not the four tests.
    post_hook(installation, "first-hour", ORDER)
    installation.wait_runs(1, timeout=30)
    page.goto("/workflows")
    row = page.locator("tr[data-workflow='first-hour']")
    expect(row.get_by_label("1 runs of first-hour in the last 24 hours")).to_have_text("1")
    expect(row.locator("td.num").nth(1)).to_have_text("0")
    page.goto("/runs?workflow=first-hour")
    expect(page.locator("#runs-table tbody tr")).to_have_count(5)
    expect(page.locator("#runs-table .badge.test")).to_have_count(4)
    page.get_by_label("Kind").select_option("live")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#runs-table tbody tr")).to_have_count(1)
    expect(page.locator("#runs-table .badge.test")).to_have_count(0)
    # The short id `relayflow runs` shows opens the run.
    live = installation.runs("first-hour", "--kind", "live")[0]["id"]
    page.goto(f"/runs/{live[:12]}")
    expect(page).to_have_url(re.compile(rf"/runs/{live}$"))


@pytest.fixture
def only_account(installation: Relayflow, sandbox: SandboxServer) -> str:
    """The one CleverTap account (the first test connects it in the builder)."""
    add_account(installation, "ct-only", sandbox)
    return "ct-only"


def test_renaming_removing_and_reordering_steps(page: Any, installation: Relayflow) -> None:
    steps = three_echo_steps(page, "arranged")
    second = steps.nth(1)
    name = second.get_by_label("Step name")
    name.fill("points")  # the card and its hint follow at once
    expect(second).to_have_attribute("data-step", "points")
    expect(second.get_by_text("steps.points.$return_value")).to_be_visible()
    expect(second.get_by_role("button", name="Move points up")).to_be_visible()
    name.press("Tab")
    offer = second.get_by_role("status").filter(has_text="still uses steps.score")
    expect(offer).to_contain_text("1 expression in other steps still uses steps.score.")
    offer.get_by_role("button", name="Rewrite to steps.points").click()
    expect(steps.nth(2).get_by_label(re.compile("^Value"))).to_have_value(
        '{\n  "s": "{{ steps.points.$return_value }}"\n}'
    )

    # Removing asks nothing and can be undone.
    steps.nth(0).get_by_role("button", name="Remove shape").click()
    expect(steps).to_have_count(2)
    page.get_by_role("button", name="Undo removing shape").click()
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_have_attribute("data-step", "shape")
    expect(steps.nth(0).get_by_label(re.compile("^Value"))).to_have_value(
        "{{ steps.trigger.event.body.email }}"
    )

    # Dragging a step's number moves it; ↑/↓ do the same from the keyboard.
    steps.nth(2).locator(".drag-handle").drag_to(
        steps.nth(0).locator(".drag-handle"), target_position={"x": 4, "y": 2}
    )
    expect(steps.nth(0)).to_have_attribute("data-step", "final")
    steps.nth(0).get_by_role("button", name="Move final down").click()
    order = [steps.nth(i).get_attribute("data-step") for i in range(3)]
    assert order == ["shape", "final", "points"]
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#wf-status")).to_contain_text("Version 1 deployed")
    saved = source_of(installation, "arranged")["steps"]
    assert [s["name"] for s in saved] == order
    assert saved[2]["with"]["value"] == "{{ steps.shape.$return_value }}!"


BROKEN_IMPORT = """\
name: signup
trigger: {http: {path: signup-import}}
steps:
  - name: upsert
    uses: clevertap.upload_profile
    account: clevertap-prod
    with: {identity: "{{ steps.trigger.event.body.id }}", colour: red}
  - name: later
    uses: util.echo
    with: {value: "{{ steps.upsert.$return_value "}
  - name: 2bad
    uses: util.echo
"""


def test_import_and_deploy_problems_name_the_file_come_at_once_and_suggest_the_ui(
    page: Any, installation: Relayflow, sandbox: SandboxServer, only_account: str, tmp_path: Any
) -> None:
    file = tmp_path / "signup.yaml"
    file.write_text(BROKEN_IMPORT)
    page.goto("/workflows")
    page.locator("#import-file").set_input_files(str(file))
    problems = page.locator("#import-problems")
    expect(problems).to_be_visible()
    text = problems.text_content()
    assert "signup.yaml was not imported" in text and "request:" not in text
    for expected in (
        "signup.yaml:6: steps[0].account: no account named 'clevertap-prod'; connect it on"
        " the Accounts page (or with Connect new account on the step), or use one of the"
        " CleverTap accounts: ct-only",
        "signup.yaml:7: steps[0].with.colour: clevertap.upload_profile has no input 'colour'",
        "signup.yaml:10: steps[1].with.value: ",
        "signup.yaml:11: steps[2].name: step name '2bad' must start with a letter",
    ):
        assert expected in text, text
    assert "relayflow " not in text  # no command lines in the UI

    # In the builder: a step whose account was removed since is refused at deploy, at it.
    add_account(installation, "ct-gone", sandbox)
    deploy(installation, GONE)
    with installation.api() as api:
        assert api.delete("/accounts/ct-gone").status_code == 200
    page.goto("/workflows/account-gone")
    step = page.locator("section.step[data-step='upsert']")
    picker = step.get_by_role("combobox", name=re.compile("^CleverTap account"))
    expect(picker.locator("option:checked")).to_have_text("ct-gone (not connected)")
    step.get_by_label(re.compile("^Name")).fill("{{ steps.trigger.event.body.email }}")
    page.get_by_role("button", name="Deploy").click()
    expect(step.locator(".step-problems")).to_contain_text(
        "account: no account named 'ct-gone'; connect it on the Accounts page (or with Connect"
        " new account on the step), or use one of the CleverTap accounts: ct-only"
    )
    expect(page.get_by_role("alert").filter(has_text="Not deployed")).to_contain_text(
        "steps[0].account"
    )
    picker.select_option("ct-only")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#wf-status")).to_contain_text("Version 2 deployed")


GONE = """name: account-gone
trigger: {http: {path: account-gone}}
steps:
  - name: upsert
    uses: clevertap.upload_profile
    account: ct-gone
    with: {identity: "{{ steps.trigger.event.body.user_id }}"}
"""
