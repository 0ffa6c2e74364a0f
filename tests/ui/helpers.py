"""Signing in, screenshots, and setting things up through the API where the UI is not
what a test is about."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import httpx

from conftest import Relayflow
from relayflow.sandbox import SandboxServer

ADMIN_PASSWORD = "correct-horse-battery"
SCREENSHOTS = os.environ.get("RELAYFLOW_UI_SCREENSHOTS")  # a folder, e.g. docs


def sign_in(tab: Any, user: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    tab.goto("/workflows")
    tab.get_by_label("User name").fill(user)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url("**/workflows")


def shoot(tab: Any, name: str, full_page: bool = False) -> None:
    """With RELAYFLOW_UI_SCREENSHOTS=docs, save the page as docs/<name>.png for the README."""
    if not SCREENSHOTS:
        return
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def deploy(installation: Relayflow, source: str) -> dict:
    with installation.api() as api:
        answer = api.post("/workflows", content=source, headers={"content-type": "text/yaml"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def add_account(installation: Relayflow, name: str, sandbox: SandboxServer) -> None:
    fields = {
        "account_id": sandbox.account_id,
        "passcode": sandbox.passcode,
        "endpoint": sandbox.url,
    }
    with installation.api() as api:
        answer = api.post(
            "/accounts",
            json={"app": "clevertap", "name": name, "fields": fields, "replace": True},
        )
    assert answer.status_code == 201, answer.text


def fill_account_form(step: Any, name: str, sandbox: SandboxServer) -> Any:
    """Open a step's Connect new account form and fill in the sandbox's CleverTap fields;
    returns the form (not saved yet)."""
    step.get_by_role("button", name="Connect new account").click()
    form = step.locator("form.account-form")
    form.get_by_label("Account name").fill(name)
    form.get_by_label("Account ID").fill(sandbox.account_id)
    form.get_by_label("Passcode").fill(sandbox.passcode)
    form.get_by_label("Endpoint").fill(sandbox.url)
    return form


def post_hook(installation: Relayflow, path: str, body: Any) -> dict:
    answer = httpx.post(f"{installation.url}/hooks/{path}", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def curl_available() -> bool:
    return shutil.which("curl") is not None
