"""Profile reads, deletes, cursor queries and counts against a real sandbox."""

from __future__ import annotations

import json

import httpx
import pytest

from .helpers import upload

DAY = 86400
TS = 1714564800  # 2024-05-01 12:00:00 UTC


def seed_shop(api: httpx.Client) -> None:
    records: list[dict] = [
        {"type": "profile", "identity": f"u{i}", "ts": TS, "profileData": {"Email": f"u{i}@x.io"}}
        for i in range(5)
    ]
    for i in range(23):
        records.append(
            {
                "type": "event",
                "identity": f"u{i % 5}",
                "ts": TS + i * 60,
                "evtName": "Charged",
                "evtData": {"Amount": i, "Currency": "EUR" if i % 2 else "USD"},
            }
        )
    records.append(
        {"type": "event", "identity": "u0", "ts": TS + DAY, "evtName": "App Opened", "evtData": {}}
    )
    assert upload(api, *records)["status"] == "success"


def test_vector_11_profile_read_shape(api: httpx.Client) -> None:
    seed_shop(api)
    body = api.get("/1/profile.json", params={"identity": "u0"}).json()
    assert body["status"] == "success"
    record = body["record"]
    assert record["identity"] == "u0"
    assert record["email"] == "u0@x.io"
    assert record["profileData"] == {"Email": "u0@x.io"}
    assert record["events"]["Charged"] == {
        "count": 5,
        "first_seen": TS,
        "last_seen": TS + 20 * 60,
    }
    assert record["events"]["App Opened"]["count"] == 1
    [platform] = record["platformInfo"]
    assert platform["platform"] == "API"
    assert platform["objectId"].startswith("-")
    by_email = api.get("/1/profile.json", params={"email": "u0@x.io"}).json()["record"]
    by_object_id = api.get("/1/profile.json", params={"objectId": platform["objectId"]}).json()
    assert by_email == record == by_object_id["record"]


def test_profile_read_needs_exactly_one_key(api: httpx.Client) -> None:
    response = api.get("/1/profile.json")
    assert response.status_code == 400
    assert "exactly one of identity, email or objectId" in response.json()["error"]
    response = api.get("/1/profile.json", params={"identity": "a", "email": "a@b.co"})
    assert response.status_code == 400


def test_missing_profile_is_a_fail_body_with_code_404(api: httpx.Client) -> None:
    response = api.get("/1/profile.json", params={"identity": "nobody"})
    assert response.status_code == 200
    assert response.json() == {"status": "fail", "error": "Profile not found", "code": 404}


def test_delete_by_identity_and_by_guid(api: httpx.Client) -> None:
    seed_shop(api)
    object_id = api.get("/1/profile.json", params={"identity": "u1"}).json()["record"][
        "platformInfo"
    ][0]["objectId"]
    response = api.post("/1/delete/profiles.json", json={"identity": ["u0", "nobody"]})
    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert api.post("/1/delete/profiles.json", json={"guid": object_id}).json()["status"] == (
        "success"
    )
    assert api.get("/1/profile.json", params={"identity": "u0"}).json()["code"] == 404
    assert api.get("/1/profile.json", params={"identity": "u1"}).json()["code"] == 404
    assert api.post("/1/counts/profiles.json", json={}).json()["count"] == 3
    query = {"event_name": "App Opened", "from": 20240501, "to": 20240531}
    assert api.post("/1/counts/events.json", json=query).json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"identity": "u0", "guid": "g"}, 'Send either "identity" or "guid", not both'),
        ({}, 'Send "identity" or "guid"'),
        ({"identity": [f"u{i}" for i in range(101)]}, "has 101 values; send at most 100"),
        ({"identity": []}, "must be a non-empty string or an array of them"),
    ],
)
def test_vector_12_bad_delete_requests_are_400(api: httpx.Client, body: dict, message: str) -> None:
    response = api.post("/1/delete/profiles.json", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def read_all(api: httpx.Client, path: str, first: dict) -> list[dict]:
    assert first["status"] == "success", first
    pages = []
    cursor = first["cursor"]
    while cursor:
        page = api.get(path, params={"cursor": cursor}).json()
        assert page["status"] == "success"
        pages.append(page)
        cursor = page.get("next_cursor")
    return pages


def test_events_cursor_pages_until_exhausted(api: httpx.Client) -> None:
    seed_shop(api)
    query = {"event_name": "Charged", "from": 20240501, "to": 20240501}
    first = api.post("/1/events.json", params={"batch_size": 10}, json=query).json()
    pages = read_all(api, "/1/events.json", first)
    assert [len(p["records"]) for p in pages] == [10, 10, 3]
    assert "next_cursor" not in pages[-1]
    assert pages[1]["previous_cursor"]
    records = [r for p in pages for r in p["records"]]
    assert [r["event_props"]["Amount"] for r in records] == list(range(23))
    assert records[0]["ts"] == 20240501120000
    assert records[22]["ts"] == 20240501122200
    assert records[0]["profile"]["identity"] == "u0"
    assert records[0]["profile"]["email"] == "u0@x.io"


def test_events_query_in_the_old_get_form_with_property_filter(api: httpx.Client) -> None:
    seed_shop(api)
    query = {
        "event_name": "Charged",
        "from": 20240501,
        "to": 20240502,
        "event_properties": [{"name": "Currency", "operator": "equals", "value": "EUR"}],
    }
    first = api.get("/1/events.json", params={"batch_size": 5, "query": json.dumps(query)}).json()
    records = [r for p in read_all(api, "/1/events.json", first) for r in p["records"]]
    assert len(records) == 11
    assert {r["event_props"]["Currency"] for r in records} == {"EUR"}


def test_profiles_cursor_by_event(api: httpx.Client) -> None:
    seed_shop(api)
    query = {"event_name": "App Opened", "from": 20240502, "to": 20240502}
    first = api.post("/1/profiles.json", params={"batch_size": 23}, json=query).json()
    [page] = read_all(api, "/1/profiles.json", first)
    [record] = page["records"]
    assert record["identity"] == "u0"
    assert record["events"]["App Opened"]["count"] == 1
    everyone = api.post("/1/profiles.json", params={"batch_size": 2}, json={}).json()
    assert sum(len(p["records"]) for p in read_all(api, "/1/profiles.json", everyone)) == 5


def test_cursor_mistakes_are_explained(api: httpx.Client, api_two: httpx.Client) -> None:
    seed_shop(api)
    query = {"event_name": "Charged", "from": 20240501, "to": 20240501}
    cursor = api.post("/1/events.json", json=query).json()["cursor"]
    response = api_two.get("/1/events.json", params={"cursor": cursor})
    assert response.status_code == 400
    assert "Cursor" in response.json()["error"] and "unknown or expired" in response.json()["error"]
    response = api.post("/1/events.json", params={"batch_size": 6000}, json=query)
    assert response.status_code == 400
    assert "use a number from 1 to 5000" in response.json()["error"]
    response = api.post("/1/events.json", json={"event_name": "Charged", "from": "May 1"})
    assert response.status_code == 400
    response = api.post("/1/events.json", json={"event_name": "Charged", "from": "May 1", "to": 1})
    assert "give a day as YYYYMMDD, e.g. 20240501" in response.json()["error"]


def test_counts(api: httpx.Client, api_two: httpx.Client) -> None:
    seed_shop(api)
    query = {"event_name": "Charged", "from": 20240501, "to": 20240501}
    assert api.post("/1/counts/events.json", json=query).json() == {
        "status": "success",
        "count": 23,
    }
    assert api.post("/1/counts/profiles.json", json=query).json()["count"] == 5
    later = {"event_name": "Charged", "from": 20240502, "to": 20240531}
    assert api.post("/1/counts/events.json", json=later).json()["count"] == 0
    assert api_two.post("/1/counts/events.json", json=query).json()["count"] == 0
    response = api.post("/1/counts/events.json", json={"from": 20240501, "to": 20240501})
    assert response.status_code == 400
    assert 'Give "event_name"' in response.json()["error"]
