"""A server that cannot isolate code steps (its bubblewrap is missing) says so: a start-up
line, the workflows page, the builder of a workflow with a code step; and it refuses them
with the fix, while other steps run."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import Relayflow

from .helpers import deploy, post_hook

CODED = """
name: coded
trigger: {http: {path: coded}}
steps:
  - name: score
    code: |
      def handler(pd):
          return 42
"""

PLAIN = """
name: plain
trigger: {http: {path: plain}}
steps: [{name: say, uses: util.echo, with: {value: "{{ steps.trigger.event.body.word }}"}}]
"""

INSTALLATION_ENV = {"RELAYFLOW_BWRAP": "/nonexistent/bwrap", "RELAYFLOW_UNSAFE_CODE_STEPS": ""}


@pytest.fixture(scope="module", autouse=True)
def workflows(installation: Relayflow) -> None:
    deploy(installation, CODED)
    deploy(installation, PLAIN)


def test_the_start_up_lines_say_code_steps_are_refused(installation: Relayflow) -> None:
    output = installation.output()
    assert "code steps refused: /nonexistent/bwrap does not exist" in output
    assert "apt-get install bubblewrap" in output


def test_a_code_step_is_refused_with_the_fix_and_other_steps_run(installation: Relayflow) -> None:
    refused = post_hook(installation, "coded", {})["run_id"]
    plain = post_hook(installation, "plain", {"word": "hi"})["run_id"]
    installation.wait_runs(1, status="failed", timeout=60)
    installation.wait_runs(1, status="succeeded", timeout=60)
    error = installation.inspect(refused)["steps"][0]["error"]
    assert error["name"] == "IsolationError"
    assert "cannot be isolated here: /nonexistent/bwrap does not exist" in error["message"]
    assert "set RELAYFLOW_UNSAFE_CODE_STEPS=1" in error["message"]
    assert installation.inspect(plain)["steps"][0]["return_value"] == "hi"


def test_the_pages_warn_where_code_steps_matter(page: Any) -> None:
    page.goto("/workflows")
    warning = page.locator("#code-steps-warning")
    expect(warning).to_contain_text("Code steps are not isolated on this server.")
    expect(warning).to_contain_text("are refused: /nonexistent/bwrap does not exist")
    expect(warning).to_contain_text("relayflow doctor")
    page.goto("/workflows/coded")
    expect(page.locator("#code-steps-warning")).to_contain_text("apt-get install bubblewrap")
    page.goto("/workflows/plain")
    expect(page.locator("#steps")).to_contain_text("say")
    expect(page.locator("#code-steps-warning")).to_have_count(0)
