"""The workflows list (pause, activate, duplicate, export, import, delete), versions with a
diff and roll back, schedule triggers with their next times, and code steps."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from playwright.sync_api import expect

from conftest import Relayflow

from .helpers import deploy

ECHO = """
name: {name}
trigger:
  http: {{path: {path}}}
steps:
  - name: say
    uses: util.echo
    with:
      value: "{{{{ steps.trigger.event.body.word }}}}"
"""


def hook_status(installation: Relayflow, path: str) -> int:
    return httpx.post(f"{installation.url}/hooks/{path}", json={"word": "hi"}).status_code


def test_pause_activate_duplicate_export_and_delete(
    page: Any, installation: Relayflow, tmp_path: Path
) -> None:
    deploy(installation, ECHO.format(name="echo-list", path="echo-list"))
    page.goto("/workflows")
    row = page.locator("tr[data-workflow='echo-list']")
    expect(row.locator(".badge").first).to_have_text("active")

    row.get_by_role("button", name="Pause echo-list").click()
    expect(row.locator(".badge").first).to_have_text("paused")
    assert hook_status(installation, "echo-list") == 404
    row.get_by_role("button", name="Activate echo-list").click()
    expect(row.locator(".badge").first).to_have_text("active")
    assert hook_status(installation, "echo-list") == 200

    with page.expect_download() as download:
        row.get_by_role("link", name="Export echo-list as YAML").click()
    saved = tmp_path / "echo-list.yaml"
    download.value.save_as(saved)
    exported = yaml.safe_load(saved.read_text())
    assert exported["name"] == "echo-list"
    assert exported["steps"][0]["with"] == {"value": "{{ steps.trigger.event.body.word }}"}

    # A duplicate is a draft with its own name and path, opened in the builder.
    row.get_by_role("button", name="Duplicate echo-list").click()
    expect(page).to_have_url(re.compile(r"/workflows/echo-list-copy$"))
    expect(page.locator("#wf-status")).to_contain_text("Draft (not deployed)")
    expect(page.get_by_label("Path", exact=True)).to_have_value("echo-list-copy")
    page.goto("/workflows")
    expect(page.locator("tr[data-workflow='echo-list-copy'] .badge").first).to_have_text("draft")

    # Import: the exported file under another name becomes a deployed workflow.
    renamed = tmp_path / "imported.yaml"
    renamed.write_text(saved.read_text().replace("echo-list", "echo-imported"), encoding="utf-8")
    page.locator("#import-file").set_input_files(str(renamed))
    expect(page).to_have_url(re.compile(r"/workflows/echo-imported$"))
    expect(page.locator("#wf-status")).to_contain_text("Version 1 deployed")

    # An invalid file is refused with its problems, and nothing is imported.
    page.goto("/workflows")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: Not A Name\ntrigger: {http: {path: x}}\n", encoding="utf-8")
    page.locator("#import-file").set_input_files(str(broken))
    problems = page.locator("#import-problems")
    expect(problems).to_be_visible()
    expect(problems).to_contain_text("broken.yaml was not imported")
    expect(problems).to_contain_text("Not A Name")

    page.locator("tr[data-workflow='echo-imported']").get_by_role(
        "button", name="Delete echo-imported"
    ).click()
    expect(page.locator("tr[data-workflow='echo-imported']")).to_have_count(0)
    with installation.api() as api:
        assert api.get("/workflows/echo-imported").status_code == 404


def test_versions_show_a_diff_and_roll_back(page: Any, installation: Relayflow) -> None:
    deploy(installation, ECHO.format(name="echo-versions", path="echo-versions"))
    page.goto("/workflows/echo-versions")
    value = page.get_by_label(re.compile("^Value"))
    value.fill("{{ steps.trigger.event.body.word | upper }}")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#wf-status")).to_contain_text("Version 2 deployed")

    page.get_by_role("button", name="Versions").click()
    dialog = page.get_by_role("dialog", name="Versions")
    dialog.get_by_role("button", name="Changes from v2").click()
    diff = dialog.locator("pre.diff")
    expect(diff.locator("del")).to_contain_text(
        "value: '{{ steps.trigger.event.body.word | upper }}'"
    )
    expect(diff.locator("ins")).to_contain_text("value: '{{ steps.trigger.event.body.word }}'")
    dialog.get_by_role("button", name="Roll back to v1").click()
    expect(page.locator("#wf-status")).to_contain_text("Version 1 deployed")
    expect(page.get_by_label(re.compile("^Value"))).to_have_value(
        "{{ steps.trigger.event.body.word }}"
    )


def test_a_schedule_shows_its_next_five_times_in_its_timezone(page: Any) -> None:
    page.goto("/workflows/new")
    page.get_by_label("Workflow name").fill("every-morning")
    page.get_by_label("Starts when").select_option("schedule")
    page.get_by_label("When", exact=True).fill("30 8 * * 1-5")
    page.get_by_label("Timezone").fill("Europe/Berlin")
    times = page.locator("#next-times li")
    expect(times).to_have_count(5)
    for text in times.all_inner_texts():
        assert re.search(r"(Mon|Tue|Wed|Thu|Fri) \d{4}-\d\d-\d\d 08:30:00 CES?T", text), text
    page.get_by_label("When", exact=True).fill("every morning")
    expect(page.locator("#next-times li")).to_have_count(0)
    expect(page.get_by_text("is not a cron expression")).to_be_visible()


def new_workflow_with(page: Any, name: str, search: str, option: str) -> None:
    """A new workflow `name` in the builder, with the library's `option` as its first step."""
    page.goto("/workflows/new")
    page.get_by_label("Workflow name").fill(name)
    page.get_by_role("button", name="+ Add a step").click()
    page.get_by_role("combobox", name="Search actions").fill(search)
    page.get_by_role("option", name=re.compile(option)).click()


def test_a_code_step_is_edited_with_highlighting_and_deployed_as_written(
    page: Any, installation: Relayflow
) -> None:
    new_workflow_with(page, "with-code", "python", "Python code")
    editor = page.get_by_label("Code (Python)")
    editor.fill("")
    editor.press_sequentially('def handler(pd):\nreturn {"n": 1}  # one')
    expect(page.locator(".code-editor .tok-kw").first).to_have_text("def")
    expect(page.locator(".code-editor .tok-com")).to_have_text("# one")
    expect(page.locator(".code-editor .tok-str")).to_have_text('"n"')
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#wf-status")).to_contain_text("Version 1 deployed")
    with installation.api() as api:
        source = api.get("/workflows/with-code").json()["source"]
    # Enter kept the indentation Python needs; the YAML keeps the code as a block.
    assert 'code: |-\n      def handler(pd):\n          return {"n": 1}  # one\n' in source


def test_a_nodejs_code_step_is_added_from_the_library_and_runs(
    page: Any, installation: Relayflow
) -> None:
    new_workflow_with(page, "with-node", "node", "Node.js code")
    editor = page.get_by_label("Code (Node.js)")
    expect(editor).to_have_value(re.compile("defineComponent"))
    editor.fill("")
    editor.press_sequentially(
        "export default defineComponent({\nasync run({ steps }) {\n"
        "return steps.trigger.event.body; // all\n}\n});"
    )
    expect(page.locator(".code-editor .tok-kw").first).to_have_text("export")
    expect(page.locator(".code-editor .tok-com")).to_have_text("// all")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#wf-status")).to_contain_text("Version 1 deployed")
    with installation.api() as api:
        source = api.get("/workflows/with-node").json()["source"]
    # Enter indented after an opening brace, by JavaScript's two spaces.
    assert "runtime: nodejs" in source
    assert "({\n        async run({ steps }) {\n          return steps" in source
    event = '{"body": {"email": "a@b.io"}}'
    tested = installation.cli("test", "with-node", "--json", "--event", "-", input=event)
    assert json.loads(tested.stdout)["steps"][0]["return_value"] == {"email": "a@b.io"}
