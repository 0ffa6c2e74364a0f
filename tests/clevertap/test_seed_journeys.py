"""The three journeys of the CleverTap + Pipedream guide, end to end on a real installation.

Webhooks go into `relayflow up`; the runs talk to the CleverTap sandbox over HTTP; the
results are read back from the sandbox's own API, as a user checks the CleverTap dashboard.
"""

from __future__ import annotations

from pathlib import Path

from relayflow.sandbox import SandboxServer

from .helpers import Installation, events, profile

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_a_signup_webhook_creates_the_profile_in_clevertap(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy((EXAMPLES / "signup-to-clevertap.yaml").read_text())
    installation.post(
        "signup",
        {
            "user_id": "u-1001",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "phone": "+14155550100",
            "plan": "pro",
            "utm_source": "newsletter",
        },
    )
    (run,) = installation.wait_finished("signup-to-clevertap", 1)

    assert run["status"] == "succeeded", run["error"]
    found = profile(sandbox, "u-1001")
    assert found is not None
    assert found["profileData"] == {
        "Name": "Ada Lovelace",
        "Email": "ada@example.com",
        "Phone": "+14155550100",
        "Plan": "pro",
        "MSG-email": True,
    }
    assert found["events"]["Signed Up"]["count"] == 1
    steps = installation.run(run["id"])["steps"]
    assert steps[0]["exports"]["$summary"] == "Profile u-1001 created or updated"
    assert steps[0]["return_value"]["status"] == "success"
    assert steps[1]["return_value"]["record"]["evtData"] == {"Source": "newsletter"}
    [welcome] = sandbox.messages(identity="u-1001")
    assert welcome["content"] == {"Name": "Ada Lovelace", "Plan": "pro"}
    assert steps[2]["return_value"]["users"] == [{"identity": "u-1001", "status": "sent"}]


def test_a_purchase_becomes_a_charged_event_with_its_items(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy((EXAMPLES / "purchase-to-charged.yaml").read_text())
    items = [
        {"Category": "books", "Book name": "The millionaire next door", "Quantity": 1},
        {"Category": "books", "Book name": "Achieving inner zen", "Quantity": 4},
    ]
    installation.post(
        "purchase", {"order_id": "o-5001", "user_id": "u-2002", "total": 300, "items": items}
    )
    (run,) = installation.wait_finished("purchase-to-charged", 1)

    assert run["status"] == "succeeded", run["error"]
    (charged,) = events(sandbox, "Charged")
    assert charged["profile"]["identity"] == "u-2002"
    assert charged["event_props"] == {
        "Amount": 300,
        "Currency": "USD",
        "Charged ID": "o-5001",
        "Items": items,
    }
    assert profile(sandbox, "u-2002")["events"]["Charged"]["count"] == 1
    [thanks] = sandbox.messages(identity="u-2002")
    assert thanks["campaign_id"] == 1000002
    assert thanks["content"]["Order"] == "o-5001" and thanks["content"]["Amount"] == "300"
    assert thanks["content"]["Items"][1] == {
        "Category": "books", "Book name": "Achieving inner zen", "Quantity": "4",
    }  # fmt: skip


CUSTOM_PROPERTY = """
name: sheet-row-to-clevertap
trigger:
  http: {path: sheet-row}
steps:
  - name: custom_property
    uses: clevertap.api_request
    account: clevertap-demo
    with:
      method: POST
      path: /1/upload
      body: |
        {
          "d": [
            {
              "identity": "{{steps.trigger.event.body.newRow[2]}}",
              "type": "profile",
              "profileData": {
                "CustomerID" : "{{steps.trigger.event.body.newRow[4]}}"
              }
            }
          ]
        }
        //we can add custom properties and additional details about the user to this
"""

# The guide's sample exactly: "Email" at the top level is not an identity, so CleverTap
# would skip the record (523); relayflow says so before sending anything.
GUIDE_SAMPLE = CUSTOM_PROPERTY.replace("sheet-row", "guide-sample").replace(
    '"identity": "{{steps.trigger.event.body.newRow[2]}}"',
    '"Email":   "{{steps.trigger.event.body.newRow[2]}} "',
)


# Unchecked, a record CleverTap skips comes back in `unprocessed`: the step still fails.
UNCHECKED = (
    CUSTOM_PROPERTY.replace("sheet-row", "unchecked")
    .replace("      body: |", "      check_rules: false\n      body: |")
    .replace('"CustomerID" :', '"Phone": "{{steps.trigger.event.body.newRow[3]}}", "CustomerID":')
)


def test_a_custom_property_goes_up_through_a_raw_json_api_request(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(CUSTOM_PROPERTY)
    installation.deploy(GUIDE_SAMPLE)
    installation.deploy(UNCHECKED)
    row = ["2024-05-01", "Ada Lovelace", "ada@example.com", "+14155550100", "CUST-1001"]
    installation.post("sheet-row", {"newRow": row})
    installation.post("guide-sample", {"newRow": row})
    installation.post("unchecked", {"newRow": [*row[:3], "4155550100", "CUST-1002"]})
    (run,) = installation.wait_finished("sheet-row-to-clevertap", 1)
    (sample,) = installation.wait_finished("guide-sample-to-clevertap", 1)
    (unchecked,) = installation.wait_finished("unchecked-to-clevertap", 1)

    assert run["status"] == "succeeded", run["error"]
    assert profile(sandbox, "ada@example.com")["profileData"] == {"CustomerID": "CUST-1001"}
    step = installation.run(run["id"])["steps"][0]
    assert step["return_value"]["body"] == {"status": "success", "processed": 1, "unprocessed": []}
    assert step["exports"]["$summary"] == "POST /1/upload → 200"

    assert sample["status"] == "failed"
    assert "1 of 1 records break CleverTap's rules, so nothing was sent" in sample["error"]
    assert "ErrorCode: 523" in sample["error"]
    assert "does not name a user in an upload; send the address as identity" in sample["error"]
    assert unchecked["status"] == "failed"
    assert (
        "CleverTap skipped 1 of 1 records; record 1: CleverTap rejected the profile for "
        "identity 'ada@example.com' (code 516)" in unchecked["error"]
    )
    uploads = sandbox.stats()["uploads"]
    assert uploads["requests"] == 2 and uploads["unprocessed"] == 1  # the sample sent nothing
