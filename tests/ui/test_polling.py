"""A workflow on a polling source in the builder: its trigger card shows every/backfill,
what its polls came to, and a dry run of a poll now."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from conftest import Relayflow


def test_the_trigger_card_shows_polls_and_a_dry_run(
    page: Any, installation: Relayflow, tmp_path: Path
) -> None:
    data = tmp_path / "signups.csv"
    data.write_text("user_id,email\nu-1,ada@example.com\n", encoding="utf-8")
    installation.deploy_text(
        "ui-rows",
        f"""\
name: ui-rows
trigger:
  source: {{uses: files.new_rows, every: 1h, backfill: all, with: {{path: "{data}"}}}}
steps:
  - {{name: note, uses: util.echo, with: {{value: ok}}}}
""",
    )
    installation.wait_runs(1, timeout=30)
    with data.open("a", encoding="utf-8") as file:
        file.write("u-2,alan@example.com\n")
    page.goto("/workflows/ui-rows")
    expect(page.get_by_label("Poll every")).to_have_value("1h")
    expect(page.get_by_label("On the first poll, emit")).to_have_value("all")
    status = page.locator("#poll-status")
    expect(status).to_contain_text("ok")
    expect(status).to_contain_text("Items emitted1")
    page.get_by_role("button", name="Poll now (dry run)").click()
    result = page.locator("#dry-run")
    expect(result).to_contain_text("A poll now would emit 1 events")
    expect(result).to_contain_text(re.compile(r"alan@example\.com"))
