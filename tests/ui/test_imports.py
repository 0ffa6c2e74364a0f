"""Importing a file from a CleverTap account's page: upload, map, dry run, import, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from conftest import Relayflow
from relayflow.sandbox import SandboxServer

from .helpers import add_account, shoot


def test_a_file_is_dry_run_then_imported_from_the_accounts_page(
    page: Any, installation: Relayflow, sandbox: SandboxServer, tmp_path: Path
) -> None:
    add_account(installation, "ct-import", sandbox)
    source = tmp_path / "signups.csv"
    rows = [f"ui-{i},User {i},+1415{i:07d}" for i in range(1500)]
    rows[10] = "ui-10,User 10,4155550100"  # no country code: CleverTap's 516
    source.write_text("user_id,Name,Phone\n" + "\n".join(rows) + "\n")

    page.goto("/accounts")
    page.get_by_role("link", name="Import into ct-import").click()
    expect(page.get_by_role("heading", name="Import into ct-import")).to_be_visible()
    page.get_by_label("File").set_input_files(str(source))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-result")).to_contain_text("3 columns (user_id, Name, Phone)")
    page.get_by_label("Identity column", exact=True).select_option("user_id")

    page.get_by_role("button", name="Dry run").click()
    status = page.locator("#job-status")
    expect(status).to_contain_text(
        "Dry run done: 1,500 rows checked, 1,499 would be sent, 1 rejected"
    )
    assert sandbox.stats()["uploads"]["requests"] == 0

    page.get_by_role("button", name="Import", exact=True).click()
    expect(status).to_contain_text("Done: 1,500 rows, 1,499 accepted by CleverTap, 1 rejected")
    expect(page.locator("#import-progress")).to_have_attribute("value", "1000")
    shoot(page, "ui-import")
    link = page.get_by_role("link", name="Download rejected rows")
    report = page.request.get(link.get_attribute("href"))
    assert report.ok and "11,ui-10,516," in report.text()
    found = httpx.get(
        f"{sandbox.url}/1/profile.json", params={"identity": "ui-1499"}, headers=sandbox.headers()
    ).json()
    assert found["record"]["profileData"]["Name"] == "User 1499"
