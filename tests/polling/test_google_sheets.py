"""google_sheets.new_row against the local stand-in of Google's token endpoint and the
Sheets API v4 `values.get`. Google's own libraries are the oracles: google-auth verifies
the JWT relayflow signs for a service account, and google-api-python-client (with
google-auth's service-account credentials) reads the stand-in as it reads Google, so the
stand-in answers what Google answers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from conftest import Relayflow
from relayflow.apps.google_sheets import AUDIENCE, SCOPE, assertion

from .helpers import events_of, status, wait_until
from .standins import StandIn, service_account

SHEET = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
ROWS = [
    ["user_id", "name", "email", "phone", "customer_id"],
    ["u-1", "Ada Lovelace", "ada@example.com", "+14155550100", "C-1"],
    ["u-2", "Alan Turing", "alan@example.com"],  # trailing cells left empty
]


@pytest.fixture(scope="module")
def sheets_api() -> Iterator[tuple[StandIn, dict]]:
    with StandIn() as standin:
        key, public = service_account(f"{standin.url}/token")
        standin.public_keys[key["client_email"]] = public
        standin.sheets[SHEET] = {"Signups": [list(r) for r in ROWS]}
        yield standin, key


def test_google_auth_verifies_the_jwt_relayflow_signs(sheets_api: tuple[StandIn, dict]):
    from cryptography.hazmat.primitives import serialization
    from google.auth import jwt

    standin, key = sheets_api
    public = standin.public_keys[key["client_email"]].public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(
        assertion(key, time.time()), certs={"key-1": public}, audience=AUDIENCE
    )
    assert claims["iss"] == key["client_email"] and claims["scope"] == SCOPE


def test_googles_client_reads_the_stand_in_as_it_reads_google(sheets_api: tuple[StandIn, dict]):
    from google.oauth2 import service_account as accounts
    from googleapiclient.discovery import build

    standin, key = sheets_api
    credentials = accounts.Credentials.from_service_account_info(key, scopes=[SCOPE])
    sheets = build(
        "sheets", "v4", credentials=credentials, static_discovery=True,
        client_options={"api_endpoint": standin.url}, cache_discovery=False,
    )  # fmt: skip
    answer = sheets.spreadsheets().values().get(spreadsheetId=SHEET, range="Signups").execute()
    assert answer["values"] == ROWS
    later = sheets.spreadsheets().values().get(spreadsheetId=SHEET, range="Signups!A3:ZZZ")
    assert later.execute()["values"] == ROWS[2:]
    assert standin.token_requests  # google-auth traded its own JWT at the stand-in


def test_new_rows_of_a_sheet_with_the_seeds_mapping(
    sqlite_installation: Relayflow, sheets_api: tuple[StandIn, dict]
):
    rf = sqlite_installation
    standin, key = sheets_api
    rf.cli(
        "accounts", "add", "google_sheets", "sheets-sa",
        "--service-account-key", json.dumps(key), "--api-base", standin.url,
    )  # fmt: skip
    rf.deploy_text(
        "sheet-rows",
        f"""\
name: sheet-rows
trigger:
  source:
    uses: google_sheets.new_row
    account: sheets-sa
    every: 1s
    backfill: all
    with: {{spreadsheet_id: {SHEET}, sheet: Signups}}
steps:
  - name: email
    uses: util.echo
    with: {{value: "{{{{ steps.trigger.event.newRow[2] }}}}"}}
""",
    )
    wait_until(lambda: len(events_of(rf, "sheet-rows")) >= 2, 30, "the sheet's rows")
    first = events_of(rf, "sheet-rows")[0]
    assert first == {
        "newRow": ROWS[1],
        "range": "Signups!A2:E2",
        "worksheet": {"title": "Signups"},
        "rowNumber": 2,
        "row": dict(zip(ROWS[0], ROWS[1], strict=True)),
    }
    standin.sheets[SHEET]["Signups"].append(["u-3", "Grace Hopper", "grace@example.com"])
    wait_until(lambda: len(events_of(rf, "sheet-rows")) >= 3, 30, "the added row")
    time.sleep(1.5)
    assert [e["newRow"][2] for e in events_of(rf, "sheet-rows")] == [
        "ada@example.com", "alan@example.com", "grace@example.com",
    ]  # fmt: skip
    outputs = sorted(
        rf.inspect(run["id"])["steps"][0]["return_value"] for run in rf.runs("sheet-rows")
    )
    assert outputs == ["ada@example.com", "alan@example.com", "grace@example.com"]

    del standin.sheets[SHEET]["Signups"][1:]  # rows removed: reported, nothing emitted again
    wait_until(
        lambda: "was rewritten" in (status(rf, "sheet-rows")["last_error"] or ""), 20, "report"
    )
    assert len(events_of(rf, "sheet-rows")) == 3


def test_an_oauth_token_is_sent_as_the_bearer(
    sqlite_installation: Relayflow, sheets_api: tuple[StandIn, dict]
):
    rf = sqlite_installation
    standin, _key = sheets_api
    standin.sheets["other"] = {"Sheet1": [["email"], ["x@example.com"]]}
    rf.cli(
        "accounts", "add", "google_sheets", "sheets-bad-token",
        "--access-token", "expired", "--api-base", standin.url,
    )  # fmt: skip
    rf.deploy_text(
        "sheet-token",
        """\
name: sheet-token
trigger:
  source: {uses: google_sheets.new_row, account: sheets-bad-token, every: 1s,
           with: {spreadsheet_id: other}}
steps:
  - {name: note, uses: util.echo, with: {value: ok}}
""",
    )
    found = wait_until(lambda: (s := status(rf, "sheet-token"))["failures"] and s, 20)
    assert "answered 401: the credentials were refused" in found["last_error"]
    standin.tokens.add("expired")  # the token is good now: the retry reads the sheet
    wait_until(lambda: events_of(rf, "sheet-token"), 30, "the row")
    assert events_of(rf, "sheet-token")[0]["row"] == {"email": "x@example.com"}
