"""`/api/v1/accounts`, `/api/v1/apps` and `relayflow accounts` on a running installation."""

from __future__ import annotations

from relayflow.sandbox import SandboxServer

from .helpers import Installation

USES_SPARE = """
name: uses-spare
trigger:
  http: {path: uses-spare}
steps:
  - name: upsert
    uses: clevertap.upload_profile
    account: spare
    with: {identity: x}
"""


def test_apps_list_their_account_fields(installation: Installation) -> None:
    with installation.api() as api:
        apps = {a["key"]: a for a in api.get("/apps").json()}
    fields = {f["name"]: f for f in apps["clevertap"]["account_fields"]}
    assert list(fields) == [
        "account_id",
        "passcode",
        "region",
        "endpoint",
        "token",
        "request_limit",
        "webhook_key",
    ]
    assert fields["webhook_key"]["secret"] is True and fields["webhook_key"]["required"] is False
    assert fields["token"]["secret"] is True and fields["token"]["required"] is False
    assert fields["passcode"]["secret"] is True
    assert fields["region"]["choices"] == ["eu1", "in1", "sg1", "us1", "aps3", "mec1"]
    assert fields["region"]["default"] == "eu1"


def test_the_accounts_api_refuses_clearly(
    installation: Installation, sandbox: SandboxServer
) -> None:
    fields = {"account_id": sandbox.account_id, "endpoint": sandbox.url}

    def add(name: str, **extra: str):
        body = {"app": "clevertap", "name": name, "fields": {**fields, **extra}}
        return api.post("/accounts", json=body)

    with installation.api() as api:
        missing = add("x")
        region = add("x", passcode="p", region="eu9")
        duplicate = add("clevertap-demo", passcode="p")
        unknown = api.get("/accounts/nope")
        no_app = api.post("/accounts", json={"app": "nope", "name": "x", "fields": {}})
    assert missing.status_code == 422
    assert "a CleverTap account needs passcode (Passcode)" in missing.json()["detail"]
    assert region.status_code == 422 and "region 'eu9' is not one of" in region.json()["detail"]
    assert duplicate.status_code == 409 and "pass --replace" in duplicate.json()["detail"]
    assert unknown.status_code == 404 and "no account named 'nope'" in unknown.json()["detail"]
    assert no_app.status_code == 404 and "there is no app 'nope'" in no_app.json()["detail"]


def test_test_rename_and_remove_through_the_api(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.add_account("spare", sandbox, passcode="wrong-one")
    installation.deploy(USES_SPARE)
    with installation.api() as api:
        tested = api.post("/accounts/spare/test").json()
        renamed = api.patch("/accounts/spare", json={"name": "spare-2"})
        clash = api.patch("/accounts/spare-2", json={"name": "clevertap-demo"})
        removed = api.delete("/accounts/spare-2")
        gone = api.get("/accounts/spare-2")
    assert (
        tested["ok"] is False
        and "CleverTap rejected the Account ID / Passcode" in (tested["error"])
    )
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "spare-2"
    assert renamed.json()["still_using_old_name"] == ["uses-spare"]
    assert clash.status_code == 409
    assert removed.json() == {"removed": "spare-2", "used_by": []}
    assert gone.status_code == 404


def test_the_cli_names_the_missing_flag_and_warns_about_workflows_in_use(
    installation: Installation, sandbox: SandboxServer
) -> None:
    refused = installation.cli(
        "accounts", "add", "clevertap", "other", "--account-id", "A", "--region", "in1",
        check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    said = " ".join(refused.stderr.split())
    assert said.startswith("error: a CleverTap account needs passcode (Passcode)")
    assert said.endswith("pass --passcode VALUE")

    installation.add_account("spare", sandbox)
    installation.deploy(USES_SPARE)
    removed = installation.cli("accounts", "remove", "spare")
    assert "removed account spare" in removed.stdout
    assert "workflows still use it" in removed.stderr and "uses-spare" in removed.stderr
