"""Messages to named users: External Trigger (/1, /2) and Create Campaign by user."""

from __future__ import annotations

import httpx

from relayflow.sandbox import SandboxServer

from .helpers import upload

ADA = {"type": "profile", "identity": "u-ada", "profileData": {"Email": "ada@example.com"}}
BOB = {"type": "profile", "identity": "u-bob", "profileData": {"Name": "Bob"}}


def test_external_trigger_sends_to_known_users_and_names_the_unknown(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    upload(api, ADA, BOB)
    body = {
        "to": {"identity": ["u-bob", "u-nobody"], "email": ["ada@example.com"]},
        "campaign_id": "1695721550",
        "ExternalTrigger": {"Name": "Ada", "Items": [{"name": "Watch", "price": "$372"}]},
    }
    answer = api.post("/1/send/externaltrigger.json", json=body).json()

    assert answer["status"] == "partial" and answer["processed"] == 2
    [missing] = answer["unprocessed"]
    assert missing["code"] == 404 and missing["to"] == {"identity": "u-nobody"}
    assert "upload the profile first" in missing["error"]
    [sent] = sandbox.messages(email="ada@example.com")
    assert sent["channel"] == "external trigger" and sent["campaign_id"] == 1695721550
    assert sent["content"] == body["ExternalTrigger"]
    assert sorted(m["identity"] for m in sandbox.messages()) == ["u-ada", "u-bob"]
    assert sandbox.messages(identity="u-nobody") == []


def test_external_trigger_refuses_what_clevertap_would(api: httpx.Client) -> None:
    def refused(body: dict) -> str:
        response = api.post("/1/send/externaltrigger.json", json=body)
        assert response.status_code == 400, response.text
        return response.json()["error"]

    to = {"identity": ["u-1"]}
    assert "takes only strings" in refused(
        {"to": to, "campaign_id": 1, "ExternalTrigger": {"Points": 100}}
    )
    assert "campaign_id is None" in refused({"to": to, "ExternalTrigger": {}})
    assert "to.phone is not a way to name users" in refused(
        {"to": {"phone": ["+14155550100"]}, "campaign_id": 1}
    )
    many = {"identity": [f"u-{i}" for i in range(1001)]}
    assert "names 1001 users; send at most 1000" in refused({"to": many, "campaign_id": 1})


def test_bulk_external_trigger_needs_the_token_and_answers_per_send(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    upload(api, ADA, BOB)
    sends = [
        {"to": {"identity": ["u-ada"]}, "campaign_id": 11, "ExternalTrigger": {"Name": "Ada"}},
        {"to": {"identity": ["u-bob", "u-x"]}, "campaign_id_list": [12, 13]},
    ]
    refused = api.post("/2/send/externaltrigger.json", json={"d": sends})
    assert refused.status_code == 401
    assert "X-CleverTap-Token" in refused.json()["error"]

    token = {"X-CleverTap-Token": sandbox.tokens[sandbox.account_id]}
    answer = api.post("/2/send/externaltrigger.json", json={"d": sends}, headers=token).json()
    assert answer["status"] == "partial"
    first, second = answer["results"]
    assert first == {"status": "success", "processed": 1, "unprocessed": []}
    assert second["status"] == "partial" and second["unprocessed"][0]["to"] == {"identity": "u-x"}
    campaigns = sorted(m["campaign_id"] for m in sandbox.messages(identity="u-bob"))
    assert campaigns == [12, 13]

    six = [{"to": {"identity": ["u-ada"]}, "campaign_id": n} for n in range(1, 7)]
    too_many = api.post("/2/send/externaltrigger.json", json={"d": six}, headers=token)
    assert too_many.status_code == 400
    assert "triggers 6 campaigns; send at most 5" in too_many.json()["error"]


def test_a_campaign_by_user_is_recorded_on_each_profile(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    upload(api, ADA)
    body = {"to": {"Identity": ["u-ada"]}, "content": {"body": "Your code is 1234"}}
    answer = api.post("/1/send/sms.json", json=body).json()
    assert answer["status"] == "success" and answer["processed"] == 1
    [sent] = sandbox.messages(identity="u-ada")
    assert sent["channel"] == "sms" and sent["content"] == {"body": "Your code is 1234"}

    no_title = api.post("/1/send/push.json", json={"to": {"Identity": ["u-ada"]}, "content": {}})
    assert no_title.status_code == 400
    assert "a push message needs content.title and content.body" in no_title.json()["error"]
    fax = api.post("/1/send/fax.json", json=body)
    assert "'fax' is not a channel" in fax.json()["error"]


def test_the_dashboard_shows_a_profiles_messages(sandbox: SandboxServer, api: httpx.Client) -> None:
    upload(api, ADA)
    body = {"to": {"identity": ["u-ada"]}, "campaign_id": 77, "ExternalTrigger": {"Offer": "10%"}}
    api.post("/1/send/externaltrigger.json", json=body)
    object_id = api.get("/1/profile.json", params={"identity": "u-ada"}).json()["record"][
        "platformInfo"
    ][0]["objectId"]

    listing = httpx.get(sandbox.dashboard_url).text
    assert '<th class="num">Messages</th>' in listing
    page = httpx.get(f"{sandbox.url}/profiles/{object_id}").text
    assert 'class="message"' in page and "external trigger" in page and "Offer" in page
