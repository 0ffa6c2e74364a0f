"""The example app in docs/writing-an-app.md works as written, installed as its own package."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from conftest import ROOT, Relayflow

WORKFLOW = """\
name: greet
trigger:
  http:
    path: greet
steps:
  - name: greet
    uses: greetings.say_hello
    with:
      name: "{{ steps.trigger.event.body.name }}"
      language: "{{ steps.trigger.event.body.language }}"
"""


def install_doc_example(folder: Path) -> None:
    """The page's first Python block as a package, with the entry point the page shows."""
    page = (ROOT / "docs" / "writing-an-app.md").read_text()
    code = re.search(r"```python\n(.*?)```", page, re.DOTALL).group(1)
    (folder / "greetings").mkdir()
    (folder / "greetings" / "__init__.py").write_text(code)
    info = folder / "greetings-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: greetings\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[relayflow.apps]\ngreetings = greetings\n")


def test_the_documented_app_is_discovered_and_runs(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_doc_example(site)
    home = tmp_path / "home"
    home.mkdir()
    installation = Relayflow(
        home, f"sqlite:///{home / 'relayflow.db'}", extra_env={"PYTHONPATH": str(site)}
    )
    try:
        listed = installation.cli("actions", "greetings").stdout
        assert "greetings.say_hello" in listed and "Say Hello" in listed
        installation.deploy_text("greet", WORKFLOW)
        installation.start()
        hello = httpx.post(
            f"{installation.url}/hooks/greet", json={"name": "Ada", "language": "de"}
        )
        assert hello.status_code == 200
        bad = httpx.post(f"{installation.url}/hooks/greet", json={"name": "Ada", "language": "xx"})
        assert bad.status_code == 200
        (done,) = installation.wait_runs(1)
        (failed,) = installation.wait_runs(1, status="failed")
        assert installation.inspect(done["id"])["steps"][0]["return_value"] == {
            "greeting": "Hallo, Ada!"
        }
        step = installation.inspect(failed["id"])["steps"][0]
        assert step["error"]["message"] == "language 'xx' is not one of en, de, fr"
        assert step["attempts"] == 1
    finally:
        installation.stop_all()
