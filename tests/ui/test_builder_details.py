"""The builder's small parts: the YAML it writes, and the paths the data explorer inserts."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from playwright.sync_api import expect

from conftest import Relayflow

TRICKY = {
    "name": "yaml-check",
    "plain": "Signed Up",
    "looks_like_bool": "yes",
    "looks_like_null": "null",
    "number_text": "0123",
    "colon": "a: b",
    "hash": "x #y",
    "expression": "{{ steps.trigger.event.body.email }}",
    "quote": 'say "hi"',
    "leading_space": "  indented",
    "trailing_space": "end ",
    "unicode": "Zoë – 東京 🚀",
    "code": 'def handler(pd):\n    return {"a": 1}\n',
    "code_no_newline": "line one\nline two",
    "code_blank_lines": "a\n\n\nb\n",
    "code_indented_first": "  x = 1\ny = 2\n",
    "numbers": [0, -1.5, 1e21, 42],
    "flags": [True, False, None],
    "empty": {"list": [], "map": {}, "text": ""},
    "nested": [{"name": "a", "with": {"k": [1, {"deep": "v"}]}}, [1, 2], "s"],
    "$dollar": 1,
    "with space": {"on": "off", "1": "one"},
}


def test_the_yaml_the_builder_writes_reads_back_as_the_same_values(page: Any) -> None:
    page.goto("/workflows/new")
    written = page.evaluate("value => window.relayflow.toYaml(value)", TRICKY)
    assert yaml.safe_load(written) == TRICKY, written
    assert 'code: |\n  def handler(pd):\n      return {"a": 1}\n' in written


def test_clicked_paths_work_for_any_key_and_list_items(page: Any) -> None:
    event = {"body": {"first name": "Ann", "items": [{"sku": "B-1"}], "$ref": "r"}}
    page.goto("/workflows/new")
    page.get_by_label("Workflow name").fill("paths-check")
    page.get_by_label("Starts when").select_option("manual")
    page.get_by_label("Test event (JSON)").fill(json.dumps(event))
    page.get_by_role("button", name="+ Add a step").click()
    page.get_by_role("combobox", name="Search actions").fill("echo")
    page.keyboard.press("Enter")
    value = page.get_by_label(re.compile("^Value"))
    explorer = page.locator("#explorer")
    parts = []
    for path in (
        'steps.trigger.event.body["first name"]',
        "steps.trigger.event.body.items[0].sku",
        "steps.trigger.event.body.$ref",
    ):
        value.fill("")
        explorer.get_by_role("button", name=f"Insert {path}").click()
        expect(value).to_have_value(f"{{{{ {path} }}}}")
        parts.append(value.input_value())
    value.fill(" / ".join(parts))  # mixed text renders to one string
    page.get_by_role("button", name="Test workflow").click()
    result = page.locator("[data-result='echo']")
    expect(result.locator(".badge")).to_have_text("succeeded")
    expect(result).to_contain_text('"Ann / B-1 / r"')
    # The step's result joins the explorer, ready for the next step.
    expect(explorer.get_by_role("button", name="Insert steps.echo.$return_value")).to_be_visible()


def test_steps_are_reordered_removed_and_the_test_event_sent_to_the_webhook(
    page: Any, installation: Relayflow
) -> None:
    page.goto("/workflows/new")
    page.get_by_label("Workflow name").fill("reorder")
    for query in ("delay", "end workflow", "echo"):
        page.get_by_role("button", name="+ Add a step", exact=True).click()
        page.get_by_role("combobox", name="Search actions").fill(query)
        page.keyboard.press("Enter")
        expect(page.get_by_role("dialog", name="Add a step")).to_be_hidden()
    steps = page.locator("section.step[data-step]")
    expect(steps).to_have_count(3)
    page.get_by_label("Wait for").fill("2m")
    page.get_by_label("Reason").fill("stop here")
    page.get_by_role("button", name="Move echo up").click()
    page.get_by_role("button", name="Move echo up").click()
    expect(steps.first).to_have_attribute("data-step", "echo")
    page.get_by_role("button", name="Remove end").click()
    expect(steps).to_have_count(2)
    page.get_by_label(re.compile("^Value")).fill("{{ steps.trigger.event.body.name }}")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#wf-status")).to_contain_text("Version 1 deployed")
    with installation.api() as api:
        source = api.get("/workflows/reorder").json()["source"]
    saved = yaml.safe_load(source)
    assert [s["name"] for s in saved["steps"]] == ["echo", "delay"]
    assert saved["steps"][1]["delay"] == "2m"

    # The test event goes to the live webhook; the run is linked, and the event is listed.
    page.get_by_role("button", name="Send test event to the webhook").click()
    expect(page.get_by_role("status").filter(has_text="Event received")).to_be_visible()
    page.reload()
    recent = page.get_by_role("list", name="Last events received").get_by_role("button")
    expect(recent).to_have_count(1)
    page.get_by_label("Test event (JSON)").fill("{}")
    recent.first.click()
    received = page.get_by_label("Test event (JSON)")
    expect(received).to_have_value(re.compile("Ada Lovelace"))
    assert "relayflow_session" not in received.input_value()  # no cookie went along
