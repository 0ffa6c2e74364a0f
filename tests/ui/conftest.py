"""A real browser (Debian's Chromium driven by Playwright) on a real `relayflow up`.

Playwright's own browser download is not reachable from our machines, so the tests use
/usr/bin/chromium (`apt-get install chromium`). Without it, or without the `playwright`
package, the browser tests are skipped with the reason (and `.ci/run` fails on skips).

One installation and one CleverTap sandbox serve each test module; each test gets a fresh
browser context, signed in as the admin created from RELAYFLOW_ADMIN_PASSWORD.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Relayflow
from relayflow.sandbox import SandboxServer

from .helpers import ADMIN_PASSWORD, sign_in

CHROMIUM = os.environ.get("RELAYFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _no_browser() -> str | None:
    if not Path(CHROMIUM).exists():
        return (
            f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium) or set"
            " RELAYFLOW_CHROMIUM; Playwright's own browser download is not used"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[test]'"
    return None


@pytest.fixture(scope="module")  # its event loop must not outlive the module
def browser() -> Iterator[Any]:
    reason = _no_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="module")
def installation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Relayflow]:
    """`relayflow up` on SQLite whose first start created `admin` from the environment
    (plus the test module's INSTALLATION_ENV, if it has one)."""
    home = tmp_path_factory.mktemp("relayflow-ui") / "home"
    home.mkdir()
    found = Relayflow(
        home,
        f"sqlite:///{home / 'relayflow.db'}",
        extra_env={
            "RELAYFLOW_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "RELAYFLOW_CLEVERTAP_RETRY_SECONDS": "2",
            **getattr(request.module, "INSTALLATION_ENV", {}),
        },
    )
    found.start()
    yield found
    found.stop_all()


class Console:
    """What the page logged: a test fails on JavaScript errors, not only on assertions."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error" and not _expected(msg.text)
                else None
            ),
        )


def _expected(text: str) -> bool:
    # Failed fetches the tests provoke on purpose (a 4xx answer) are logged by Chromium.
    return bool(re.search(r"status of (4\d\d)", text))


@pytest.fixture
def page(browser: Any, installation: Relayflow) -> Iterator[Any]:
    """A fresh browser context (no cookies), signed in as admin."""
    context = browser.new_context(
        viewport={"width": 1360, "height": 900}, base_url=installation.url
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    console = Console()
    console.watch(tab)
    # confirm() is answered yes; prompt() with the next of `tab.answers` (tests append).
    tab.answers = []

    def answer(dialog: Any) -> None:
        if dialog.type == "prompt" and tab.answers:
            dialog.accept(tab.answers.pop(0))
        else:
            dialog.accept()

    tab.on("dialog", answer)
    sign_in(tab)
    yield tab
    context.close()
    assert not console.errors, console.errors
