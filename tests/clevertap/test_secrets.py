"""A passcode goes in once and is found nowhere afterwards: not in the database file, the
process logs, the CLI's output or the API's answers (only its encrypted token is stored)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from relayflow.sandbox import SandboxServer

from .helpers import Installation


def test_the_passcode_is_stored_encrypted_and_never_shown(tmp_path: Path) -> None:
    passcode = f"pc-{secrets.token_hex(12)}"
    home = tmp_path / "home"
    home.mkdir()
    rf = Installation(home, f"sqlite:///{home / 'relayflow.db'}")
    seen: list[str] = []
    with SandboxServer(accounts={"ACC-SECRET": passcode}) as sandbox:
        try:
            rf.start()
            added = rf.cli(
                "accounts", "add", "clevertap", "ct",
                "--account-id", "ACC-SECRET", "--passcode", passcode, "--endpoint", sandbox.url,
            )  # fmt: skip
            seen += [added.stdout, added.stderr]
            for args in (("list",), ("list", "--json"), ("test", "ct"), ("test", "ct", "--json")):
                shown = rf.cli("accounts", *args)
                seen += [shown.stdout, shown.stderr]
            assert "passcode: set" in seen[2] and '"passcode": "set"' in seen[4]

            with rf.api() as api:
                answers = [
                    api.get("/accounts"),
                    api.get("/accounts/ct"),
                    api.post("/accounts/ct/test"),
                    api.get("/apps"),
                    api.post(
                        "/accounts",
                        json={
                            "app": "clevertap",
                            "name": "ct-api",
                            "fields": {
                                "account_id": "ACC-SECRET",
                                "passcode": passcode,
                                "endpoint": sandbox.url,
                            },
                        },
                    ),
                    api.patch("/accounts/ct-api", json={"name": "ct-renamed"}),
                ]
                assert [a.status_code for a in answers] == [200, 200, 200, 200, 201, 200]
                assert answers[2].json()["ok"] is True
                seen += [a.text for a in answers]

                # A run that uses the account (its step results are stored too).
                rf.deploy(WORKFLOW)
                rf.post("secret-run", {"user_id": "u1"})
                (run,) = rf.wait_finished("secret-run", 1)
                assert run["status"] == "succeeded", run["error"]
                detail = api.get(f"/runs/{run['id']}")
                seen.append(detail.text)
                seen.append(rf.cli("inspect", run["id"]).stdout)
        finally:
            rf.stop_all()

    stored = b"".join(p.read_bytes() for p in home.glob("relayflow.db*"))
    assert b"ct-renamed" in stored and b"gAAAA" in stored  # the rows and their Fernet tokens
    assert passcode.encode() not in stored
    logs = rf.output()
    assert logs is not None and passcode not in logs
    for text in seen:
        assert passcode not in text, text[:500]
    assert json.loads(seen[4])[0]["secrets"] == {"passcode": "set"}


WORKFLOW = """
name: secret-run
trigger:
  http: {path: secret-run}
steps:
  - name: upsert_user
    uses: clevertap.upload_profile
    account: ct
    with:
      identity: "{{ steps.trigger.event.body.user_id }}"
"""
