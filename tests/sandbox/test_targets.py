"""Campaign targets: create, estimate, list, result and stop."""

from __future__ import annotations

import httpx

from .helpers import upload

PUSH = {
    "name": "Welcome back",
    "where": {"event_name": "App Opened", "from": 20240501, "to": 20240531},
    "content": {"title": "Hi", "body": "We missed you"},
    "devices": ["android", "ios"],
    "when": "now",
}


def seed(api: httpx.Client) -> None:
    records = [
        {
            "type": "event",
            "identity": f"u{i}",
            "ts": 1714564800,
            "evtName": "App Opened",
            "evtData": {},
        }
        for i in range(3)
    ]
    records.append({"type": "profile", "identity": "quiet", "profileData": {"Name": "Q"}})
    upload(api, *records)


def test_estimate_only_counts_reach_without_creating(api: httpx.Client) -> None:
    seed(api)
    body = api.post("/1/targets/create.json", json={**PUSH, "estimate_only": True}).json()
    assert body == {"status": "success", "estimates": {"android": 3, "ios": 3}}
    assert api.post("/1/targets/list.json", json={}).json()["targets"] == []
    everyone = {**PUSH, "where": None, "segment": "all", "estimate_only": True}
    del everyone["where"]
    assert api.post("/1/targets/create.json", json=everyone).json()["estimates"]["ios"] == 4


def test_create_list_and_result_of_a_completed_target(api: httpx.Client) -> None:
    seed(api)
    created = api.post("/1/targets/create.json", json=PUSH).json()
    assert created["status"] == "success"
    target_id = created["id"]
    listed = api.post("/1/targets/list.json", json={"from": 20000101, "to": 20991231}).json()
    assert [(t["id"], t["name"], t["status"]) for t in listed["targets"]] == [
        (target_id, "Welcome back", "completed")
    ]
    result = api.post("/1/targets/result.json", json={"id": target_id}).json()
    assert result["status"] == "success"
    assert result["result"]["sent"] == 3


def test_result_of_an_unfinished_target_and_stop(api: httpx.Client) -> None:
    later = {**PUSH, "when": "20991231 10:00"}
    target_id = api.post("/1/targets/create.json", json=later).json()["id"]
    assert api.post("/1/targets/result.json", json={"id": target_id}).json() == {
        "error": "This target hasn't been completed",
        "status": "fail",
    }
    assert api.post("/1/targets/stop.json", json={"id": target_id}).json() == {"status": "success"}
    result = api.post("/1/targets/result.json", json={"id": target_id}).json()
    assert result["result"]["status"] == "stopped"
    again = api.post("/1/targets/stop.json", json={"id": target_id})
    assert again.status_code == 400
    assert "only a scheduled target can be stopped" in again.json()["error"]


def test_target_mistakes(api: httpx.Client, api_two: httpx.Client) -> None:
    target_id = api.post("/1/targets/create.json", json=PUSH).json()["id"]
    missing = api_two.post("/1/targets/result.json", json={"id": target_id})
    assert missing.status_code == 200
    assert missing.json()["code"] == 404
    both = api.post("/1/targets/create.json", json={**PUSH, "segment": "all"})
    assert both.status_code == 400
    assert both.json()["error"] == 'Give "where" or "segment", not both'
    bad_when = api.post("/1/targets/create.json", json={**PUSH, "when": "tomorrow"})
    assert 'use "now" or "YYYYMMDD HH:MM"' in bad_when.json()["error"]
    nameless = api.post("/1/targets/create.json", json={**PUSH, "name": ""})
    assert nameless.json()["error"] == 'A target needs a "name"'
