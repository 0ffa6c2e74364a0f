"""Adding an account makes the app's connection test call first: one that fails is not
saved unless asked (`--no-test`, `test: false`; the UI's "Save anyway" is in
tests/ui/test_error_paths.py)."""

from __future__ import annotations

import json


def fields(sandbox, passcode: str) -> dict[str, str]:
    return {"account_id": sandbox.account_id, "passcode": passcode, "endpoint": sandbox.url}


def flags(sandbox, passcode: str) -> list[str]:
    return ["--account-id", sandbox.account_id, "--passcode", passcode, "--endpoint", sandbox.url]


def test_cli_refuses_an_account_whose_connection_test_fails(sqlite_relayflow, sandbox):
    rf = sqlite_relayflow
    refused = rf.cli(
        "accounts", "add", "clevertap", "ct-wrong", *flags(sandbox, "not-the-passcode"),
        check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    said = " ".join(refused.stderr.split())
    assert "not saved: the CleverTap connection test failed" in said
    assert "HTTP 401: Invalid Credentials" in said
    assert "pass --no-test to save the account untested" in said
    assert "not-the-passcode" not in refused.stdout + refused.stderr

    # Nothing was saved: the same name (no --replace) is free for an untested account.
    untested = rf.cli(
        "accounts", "add", "clevertap", "ct-wrong", *flags(sandbox, "not-the-passcode"),
        "--no-test", "--json",
    )  # fmt: skip
    assert json.loads(untested.stdout)["connection_test"] is None
    good = rf.cli("accounts", "add", "clevertap", "ct-good", *flags(sandbox, sandbox.passcode))
    assert "Connection tested: CleverTap accepted Account ID" in " ".join(good.stdout.split())


def test_api_refuses_an_account_whose_connection_test_fails(sqlite_relayflow, sandbox):
    rf = sqlite_relayflow
    rf.start()
    wrong = {"app": "clevertap", "name": "ct-wrong", "fields": fields(sandbox, "nope-nope")}
    with rf.api() as api:
        refused = api.post("/accounts", json=wrong)
        listed_after_refusal = api.get("/accounts").json()
        untested = api.post("/accounts", json={**wrong, "test": False})
        good_fields = fields(sandbox, sandbox.passcode)
        good = api.post(
            "/accounts", json={"app": "clevertap", "name": "ct-good", "fields": good_fields}
        )
        duplicate = api.post("/accounts", json=wrong)
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert detail["connection_failed"] is True
    assert "HTTP 401: Invalid Credentials" in detail["reason"]
    assert detail["message"].startswith("not saved: the CleverTap connection test failed")
    assert "send test: false" in detail["message"]
    assert "nope-nope" not in refused.text
    assert listed_after_refusal == []
    assert untested.status_code == 201 and untested.json()["connection_test"] is None
    assert good.status_code == 201
    assert good.json()["connection_test"].startswith("CleverTap accepted Account ID")
    # The name is checked before the connection: a clash is a 409, not a failed test.
    assert duplicate.status_code == 409
