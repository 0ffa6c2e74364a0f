"""Every page: each control has a name, one h1, and the keyboard reaches what the mouse does."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from conftest import Relayflow

from .helpers import deploy, post_hook

WORKFLOW = """
name: a11y
trigger:
  http: {path: a11y}
steps:
  - name: say
    uses: util.echo
    with:
      value: "{{ steps.trigger.event.body.word }}"
  - name: later
    code: |
      def handler(pd):
          return pd.steps["say"]["$return_value"]
"""

UNNAMED = """() => {
  const named = (el) =>
    (el.labels && el.labels.length > 0) ||
    el.getAttribute("aria-label") ||
    el.getAttribute("aria-labelledby") ||
    (el.tagName === "BUTTON" && el.textContent.trim()) ||
    (el.tagName === "A" && el.textContent.trim());
  const controls = document.querySelectorAll(
    "input:not([type=hidden]), select, textarea, button, a[href]"
  );
  return [...controls].filter((el) => !named(el)).map((el) => el.outerHTML.slice(0, 120));
}"""


def check_page(page: Any) -> None:
    assert page.evaluate(UNNAMED) == [], page.url
    expect(page.locator("h1")).to_have_count(1)
    assert page.evaluate("document.documentElement.lang") == "en"


def test_every_page_names_its_controls(page: Any, installation: Relayflow) -> None:
    deploy(installation, WORKFLOW)
    run = post_hook(installation, "a11y", {"word": "hi"})
    for path in ("/workflows", "/runs", f"/runs/{run['run_id']}", "/accounts", "/stores"):
        page.goto(path)
        check_page(page)
    page.goto("/stores/things")
    check_page(page)
    page.goto("/accounts")
    page.get_by_role("button", name="Connect an account").click()
    check_page(page)
    page.goto("/workflows/a11y")
    expect(page.locator(".code-editor")).to_have_count(1)
    check_page(page)
    page.get_by_role("button", name="Versions").click()
    check_page(page)
    page.keyboard.press("Escape")
    page.goto("/workflows/new")
    page.get_by_label("Starts when").select_option("schedule")
    check_page(page)


def test_the_builder_works_from_the_keyboard(page: Any, installation: Relayflow) -> None:
    deploy(installation, WORKFLOW)
    page.goto("/workflows/a11y")
    # The skip link leads past the navigation.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()

    # Tab to the value input, then to the explorer, and insert a path with Enter.
    value = page.get_by_label("Value", exact=True)
    value.focus()
    value.fill("")
    insert = page.get_by_role("button", name="Insert steps.trigger.event.body.email")
    insert.focus()
    page.keyboard.press("Enter")
    expect(value).to_have_value("{{ steps.trigger.event.body.email }}")
    expect(value).to_be_focused()

    # The "+" between steps opens the library; Escape closes it and gives focus back.
    plus = page.get_by_role("button", name="+ Add a step before step 2")
    plus.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("combobox", name="Search actions")).to_be_focused()
    page.keyboard.type("filter")
    page.keyboard.press("Enter")
    steps = page.locator("section.step[data-step]")
    expect(steps).to_have_count(3)
    expect(steps.nth(1)).to_have_attribute("data-step", "filter")

    # In the code editor Tab indents; Escape then Tab leaves it.
    editor = page.get_by_label("Code (Python)")
    editor.focus()
    page.keyboard.press("End")
    page.keyboard.press("Tab")
    assert editor.input_value().endswith("    ")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    expect(editor).not_to_be_focused()
