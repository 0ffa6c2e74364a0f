"""The dashboard pages render real data from the sandbox."""

from __future__ import annotations

import httpx

from relayflow.sandbox import SandboxServer

from .helpers import upload

TS = 1714564800  # 2024-05-01 12:00:00 UTC


def seed(api: httpx.Client) -> str:
    upload(
        api,
        {
            "type": "profile",
            "identity": "ada-42",
            "ts": TS,
            "profileData": {"Name": "Ada Lovelace", "Email": "ada@example.com", "Plan": "Gold"},
        },
        {
            "type": "event",
            "identity": "ada-42",
            "ts": TS,
            "evtName": "Signed Up",
            "evtData": {"Source": "newsletter"},
        },
        {
            "type": "event",
            "identity": "ada-42",
            "ts": TS + 86400,
            "evtName": "Charged",
            "evtData": {"Amount": 42},
        },
        {"type": "profile", "identity": "bob-7", "ts": TS, "profileData": {"Email": "bob@x.io"}},
    )
    record = api.get("/1/profile.json", params={"identity": "ada-42"}).json()["record"]
    return record["platformInfo"][0]["objectId"]


def test_profiles_list_shows_uploaded_profiles_and_searches(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    seed(api)
    page = httpx.get(f"{sandbox.url}/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "ada-42" in page.text and "bob-7" in page.text
    found = httpx.get(f"{sandbox.url}/", params={"q": "ada@example"})
    assert "ada-42" in found.text and "bob-7" not in found.text
    nothing = httpx.get(f"{sandbox.url}/", params={"q": "zed"})
    assert "No profile matches" in nothing.text


def test_profile_page_shows_properties_and_events(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    object_id = seed(api)
    page = httpx.get(f"{sandbox.url}/profiles/{object_id}", params={"account": "ACC-ONE"})
    assert page.status_code == 200
    for text in (
        "Ada Lovelace",
        "ada@example.com",
        "Plan",
        "Gold",
        "Signed Up",
        "newsletter",
        "Charged",
        "2024-05-02 12:00:00",
    ):
        assert text in page.text, text


def test_analytics_counts_events_by_name_and_day(sandbox: SandboxServer, api: httpx.Client) -> None:
    seed(api)
    page = httpx.get(f"{sandbox.url}/analytics", params={"days": "7"})
    assert page.status_code == 200
    assert "Signed Up" in page.text and "Charged" in page.text
    assert "05-01" in page.text and "05-02" in page.text
    assert "04-25" not in page.text


def test_account_selector_separates_accounts(
    sandbox: SandboxServer, api: httpx.Client, api_two: httpx.Client
) -> None:
    seed(api)
    upload(api_two, {"type": "profile", "identity": "carol-2", "profileData": {"Name": "C"}})
    two = httpx.get(f"{sandbox.url}/", params={"account": "ACC-TWO"})
    assert "carol-2" in two.text and "ada-42" not in two.text
    assert '<option value="ACC-TWO" selected>' in two.text
    assert httpx.get(f"{sandbox.url}/", params={"account": "NOPE"}).status_code == 404


def test_empty_dashboard_shows_how_to_upload(sandbox: SandboxServer) -> None:
    page = httpx.get(f"{sandbox.url}/")
    assert "No profiles in" in page.text
    assert f"curl -X POST {sandbox.url}/1/upload" in page.text
