"""Replaying from the inspector (one run) and from the event history (all failed runs)."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import expect

from conftest import Relayflow
from relayflow.sandbox import SandboxServer

from .helpers import add_account, deploy, post_hook

WORKFLOW = """
name: replays
trigger:
  http: {path: replays}
steps:
  - name: upsert
    uses: clevertap.upload_profile
    account: ct
    with:
      identity: "{{ steps.trigger.event.body.user_id }}"
      phone: "{{ steps.trigger.event.body.phone }}"
"""
# The fix: CleverTap wants +<country><number>; this version adds the country code.
FIXED = WORKFLOW.replace(
    '"{{ steps.trigger.event.body.phone }}"', '"+1{{ steps.trigger.event.body.phone }}"'
)


def wait_runs(installation: Relayflow, count: int, status: str) -> list[dict]:
    deadline = time.monotonic() + 30
    while True:
        with installation.api() as api:
            runs = api.get("/runs", params={"workflow": "replays", "status": status}).json()
        if len(runs) >= count or time.monotonic() > deadline:
            return runs
        time.sleep(0.1)


def test_replaying_one_run_and_then_every_failed_run_after_a_fix(
    page: Any, installation: Relayflow, sandbox: SandboxServer
) -> None:
    add_account(installation, "ct", sandbox)
    deploy(installation, WORKFLOW)
    first = post_hook(installation, "replays", {"user_id": "r-1", "phone": "4155550101"})
    post_hook(installation, "replays", {"user_id": "r-2", "phone": "4155550102"})
    assert len(wait_runs(installation, 2, "failed")) == 2

    # One run, from the inspector: the same event runs again (and fails the same way).
    page.goto(f"/runs/{first['run_id']}")
    expect(page.locator("#run-status")).to_have_text("failed")
    expect(page.get_by_role("alert")).to_contain_text("has no country code")
    page.get_by_role("button", name="Replay").click()
    expect(page).not_to_have_url(re.compile(first["run_id"]))
    expect(page.locator(".facts")).to_contain_text(f"Replay of{first['run_id']}")
    expect(page.locator("#run-status")).to_have_text("failed", timeout=20_000)
    expect(page.get_by_label("Trigger event")).to_contain_text('"user_id": "r-1"')

    # After the fix, every failed run not replayed yet goes again, on the new version.
    deploy(installation, FIXED)
    page.goto("/runs?workflow=replays&status=failed")
    expect(page.locator("#runs-table tbody tr")).to_have_count(3)
    page.get_by_role("button", name="Replay failed runs of replays").click()
    expect(page.get_by_role("status").filter(has_text="queued again")).to_have_text(
        "2 failed runs queued again."
    )
    succeeded = wait_runs(installation, 2, "succeeded")
    assert sorted(r["version"] for r in succeeded) == [2, 2]
    page.goto("/runs?workflow=replays&status=succeeded")
    rows = page.locator("#runs-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator(".badge.replay")).to_have_text("replay")
