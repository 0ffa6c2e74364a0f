"""POST /1/upload against a real sandbox: the fact sheet's test vectors and upserts."""

from __future__ import annotations

import httpx

from relayflow.sandbox import SandboxServer

from .helpers import upload

JACK = {
    "type": "profile",
    "identity": "jack@gmail.com",
    "ts": 1468208340,
    "profileData": {
        "Name": "Jack Montana",
        "Email": "jack@gmail.com",
        "Phone": "+14155551234",
        "Gender": "M",
        "DOB": "$D_1487576752",
        "MSG-sms": False,
    },
}
CHARGED = {
    "identity": "jack@gmail.com",
    "ts": 1468208340,
    "type": "event",
    "evtName": "Charged",
    "evtData": {
        "Amount": 300,
        "Currency": "USD",
        "Payment mode": "Credit Card",
        "Delivery By": "$D_1468322268",
        "Items": [
            {"Category": "books", "Book name": "The millionaire next door", "Quantity": 1},
            {"Category": "books", "Book name": "Achieving inner zen", "Quantity": 4},
        ],
    },
}


def profile_of(api: httpx.Client, **lookup: str) -> dict:
    response = api.get("/1/profile.json", params=lookup)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success", body
    return body["record"]


def test_vector_1_profile_upload_succeeds_and_is_stored(api: httpx.Client) -> None:
    assert upload(api, JACK) == {"status": "success", "processed": 1, "unprocessed": []}
    record = profile_of(api, identity="jack@gmail.com")
    assert record["profileData"] == JACK["profileData"]
    assert record["email"] == "jack@gmail.com"
    assert record["name"] == "Jack Montana"


def test_vector_2_official_two_event_sample(api: httpx.Client) -> None:
    viewed = {
        "FBID": "34322423",
        "ts": 1468208340,
        "type": "event",
        "evtName": "Product viewed",
        "evtData": {"Product name": "Casio Chronograph Watch", "Category": "Mens Watch"},
    }
    assert upload(api, viewed, CHARGED) == {"status": "success", "processed": 2, "unprocessed": []}
    record = profile_of(api, identity="jack@gmail.com")
    assert record["events"]["Charged"] == {
        "count": 1,
        "first_seen": 1468208340,
        "last_seen": 1468208340,
    }


def test_vector_3_second_record_without_event_name_is_skipped(api: httpx.Client) -> None:
    nameless = {"evtData": {"name": 1234, "revenue": 4.99}, "type": "event", "identity": "user123"}
    body = upload(api, JACK, nameless, CHARGED)
    assert body == {
        "status": "partial",
        "processed": 2,
        "unprocessed": [
            {
                "status": "fail",
                "code": 509,
                "error": "Event Name is incorrect. ErrorCode: 509 - Event name is mandatory. "
                "Skipped record number : 2",
                "record": nameless,
            }
        ],
    }


def test_vector_5_restricted_system_event_fails_with_513(api: httpx.Client) -> None:
    launched = {"evtName": "App Launched", "identity": "69298", "type": "event", "evtData": {}}
    body = upload(api, launched)
    assert body["status"] == "fail"
    assert body["processed"] == 0
    [entry] = body["unprocessed"]
    assert entry["code"] == 513
    assert entry["error"] == (
        "Event Name is incorrect. ErrorCode: 513 - Trying to raise a restricted system event. "
        "Skipped record number : 1"
    )
    assert entry["record"] == launched


def test_vector_6_and_7_missing_identity_and_bad_timestamp(api: httpx.Client) -> None:
    anonymous = {"type": "event", "evtName": "Signed Up", "evtData": {}}
    yesterday = {
        "type": "event",
        "identity": "u1",
        "ts": "yesterday",
        "evtName": "A",
        "evtData": {},
    }
    body = upload(api, anonymous, yesterday)
    assert body["status"] == "fail"
    assert [entry["code"] for entry in body["unprocessed"]] == [523, 525]
    assert body["unprocessed"][1]["error"].endswith("Skipped record number : 2")


def test_vector_8_gender_email_phone(api: httpx.Client) -> None:
    records = [
        {"type": "profile", "identity": "u1", "profileData": {"Gender": "X"}},
        {"type": "profile", "identity": "u2", "profileData": {"Email": "nope"}},
        {"type": "profile", "identity": "u3", "profileData": {"Phone": "4155551234"}},
    ]
    body = upload(api, *records)
    assert [entry["code"] for entry in body["unprocessed"]] == [514, 515, 516]
    assert 'Phone "4155551234" has no country code' in body["unprocessed"][2]["error"]
    assert api.get("/1/profile.json", params={"identity": "u1"}).json()["code"] == 404


def test_vector_9_more_than_1000_records_is_a_400(api: httpx.Client) -> None:
    record = {"type": "event", "identity": "u1", "evtName": "Tick", "evtData": {}}
    response = api.post("/1/upload", json={"d": [record] * 1001})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "fail"
    assert body["processed"] == 0
    assert body["code"] == 400
    assert "Too many records: 1001" in body["error"]
    assert api.post("/1/counts/profiles.json", json={}).json()["count"] == 0


def test_1000_records_in_one_request_are_all_stored(api: httpx.Client) -> None:
    records = [
        {"type": "event", "identity": f"user-{i % 100}", "evtName": "Tick", "evtData": {"n": i}}
        for i in range(1000)
    ]
    assert upload(api, *records)["processed"] == 1000
    query = {"event_name": "Tick", "from": 20000101, "to": 20991231}
    assert api.post("/1/counts/events.json", json=query).json()["count"] == 1000
    assert api.post("/1/counts/profiles.json", json=query).json()["count"] == 100


def test_dry_run_validates_without_storing(sandbox: SandboxServer, api: httpx.Client) -> None:
    nameless = {"type": "event", "identity": "u1", "evtData": {}}
    body = upload(api, JACK, nameless, params={"dryRun": "1"})
    assert body["status"] == "partial"
    assert body["processed"] == 1
    assert body["unprocessed"][0]["code"] == 509
    response = api.get("/1/profile.json", params={"identity": "jack@gmail.com"})
    assert response.json() == {"status": "fail", "error": "Profile not found", "code": 404}


def test_malformed_bodies_are_400_with_a_reason(api: httpx.Client) -> None:
    response = api.post("/1/upload", content=b'{"d": [ // comment\n]}')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    response = api.post("/1/upload", json={"data": []})
    assert response.status_code == 400
    assert response.json()["error"] == 'The upload body must be a JSON object {"d": [record, ...]}'


def test_profile_operations_apply_in_order(api: httpx.Client) -> None:
    def send(data: dict) -> None:
        assert (
            upload(api, {"type": "profile", "identity": "ops", "profileData": data})["status"]
            == "success"
        )

    send({"Name": "Ada", "Gender": "F", "Score": 5, "Tags": "vip", "Stuff": ["a", "b"]})
    send(
        {
            "Score": {"$incr": 10},
            "Credits": {"$decr": 3},
            "Tags": {"$add": ["shoes", "bags", "vip"]},
            "Stuff": ["c"],
            "Gender": {"$delete": 1},
        }
    )
    send({"Tags": {"$remove": ["shoes"]}, "Score": {"$decr": 1}})
    data = profile_of(api, identity="ops")["profileData"]
    assert data == {
        "Name": "Ada",
        "Score": 14,
        "Credits": -3,
        "Tags": ["vip", "bags"],
        "Stuff": ["c"],
    }


def test_multi_value_keeps_the_newest_100_items(api: httpx.Client) -> None:
    first = {
        "type": "profile",
        "identity": "many",
        "profileData": {"L": [f"v{i}" for i in range(90)]},
    }
    more = {
        "type": "profile",
        "identity": "many",
        "profileData": {"L": {"$add": [f"w{i}" for i in range(20)]}},
    }
    upload(api, first, more)
    values = profile_of(api, identity="many")["profileData"]["L"]
    assert len(values) == 100
    assert values[0] == "v10" and values[-1] == "w19"


def test_identities_link_one_profile(api: httpx.Client) -> None:
    object_id = "-2ce3cca260664f70b82b1c6bb505f462"
    upload(
        api,
        {"type": "profile", "objectId": object_id, "profileData": {"Name": "Obj"}},
        {"type": "profile", "objectId": object_id, "identity": "linked", "profileData": {"A": 1}},
        {"type": "event", "identity": "linked", "evtName": "Seen", "evtData": {}},
        {"type": "event", "FBID": "fb-1", "evtName": "Seen", "evtData": {}},
    )
    by_object = profile_of(api, objectId=object_id)
    assert by_object == profile_of(api, identity="linked")
    assert by_object["profileData"] == {"Name": "Obj", "A": 1}
    assert by_object["events"]["Seen"]["count"] == 1
    assert by_object["platformInfo"][0] == {"platform": "API", "objectId": object_id}


def test_device_token_is_added_to_the_profile(api: httpx.Client) -> None:
    token = {"type": "token", "objectId": "__device1", "tokenData": {"id": "tok-1", "type": "fcm"}}
    assert upload(api, token)["status"] == "success"
    info = profile_of(api, objectId="__device1")["platformInfo"]
    assert {
        "platform": "Android",
        "objectId": "__device1",
        "push_token": "tok-1",
        "push_type": "fcm",
    } in info


def test_accounts_do_not_see_each_others_data(api: httpx.Client, api_two: httpx.Client) -> None:
    upload(api, JACK)
    assert (
        api_two.get("/1/profile.json", params={"identity": "jack@gmail.com"}).json()["code"] == 404
    )
    assert profile_of(api, email="jack@gmail.com")["identity"] == "jack@gmail.com"
