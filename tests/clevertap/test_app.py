"""The CleverTap app without a server: region hosts, records, dates, JSON text, results."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relayflow.apps.clevertap import APP, REGIONS, base_url, connect, region_host
from relayflow.apps.clevertap.records import (
    event_record,
    input_locator,
    parse_json,
    profile_record,
    yyyymmdd,
)
from relayflow.apps.clevertap.results import match_unprocessed
from relayflow.apps.clevertap.retries import RequestRetries
from relayflow.sdk import StepError


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("eu1", "https://eu1.api.clevertap.com"),
        ("in1", "https://in1.api.clevertap.com"),
        ("sg1", "https://sg1.api.clevertap.com"),
        ("us1", "https://us1.api.clevertap.com"),
        ("aps3", "https://aps3.api.clevertap.com"),
        ("mec1", "https://mec1.api.clevertap.com"),
    ],
)
def test_each_region_has_its_api_host(region: str, host: str) -> None:
    assert region_host(region) == host
    client = connect({"account_id": "A", "passcode": "p", "region": region})
    assert client.base_url == host
    assert client.region == region


def test_the_account_form_offers_every_region_with_eu1_as_default() -> None:
    region = next(f for f in APP.account_fields if f.name == "region")
    assert region.choices == REGIONS
    assert region.default == "eu1"
    passcode = next(f for f in APP.account_fields if f.name == "passcode")
    assert passcode.secret and passcode.required


def test_endpoint_overrides_the_region_host() -> None:
    fields = {"region": "in1", "endpoint": "http://127.0.0.1:8790/"}
    assert base_url(fields) == "http://127.0.0.1:8790"
    assert base_url({"endpoint": "https://proxy.example.com/ct/1"}) == (
        "https://proxy.example.com/ct"
    )
    assert connect({"account_id": "A", "passcode": "p", **fields}).region is None


def test_unknown_region_and_bad_endpoint_say_what_to_use() -> None:
    with pytest.raises(ValueError, match="use one of eu1, in1, sg1, us1, aps3, mec1"):
        region_host("eu2")
    with pytest.raises(ValueError, match="is not an http\\(s\\) URL"):
        base_url({"endpoint": "127.0.0.1:8790"})


def test_the_client_never_shows_the_passcode() -> None:
    client = connect({"account_id": "ACC", "passcode": "very-secret-pass", "region": "us1"})
    assert "very-secret-pass" not in repr(client)
    assert client.headers()["X-CleverTap-Passcode"] == "very-secret-pass"
    assert client.headers()["Content-Type"] == "application/json; charset=utf-8"


def test_profile_record_converts_dates_and_keeps_operations() -> None:
    record = profile_record(
        42,
        name="Ada",
        email="ada@example.com",
        phone="+14155550100",
        properties={
            "DOB": "1990-01-01",
            "Last Seen": "2024-05-01T12:00:00Z",
            "Code": "2024-05-01",
            "Points": {"$incr": 10},
            "Tags": {"$add": ["vip"]},
            "Email": "overridden@example.com",
        },
        ts="2024-05-01T12:00:00+00:00",
    )
    data = record["profileData"]
    assert record["identity"] == "42" and record["type"] == "profile"
    assert record["ts"] == int(datetime(2024, 5, 1, 12, tzinfo=UTC).timestamp())
    assert data["DOB"] == f"$D_{int(datetime(1990, 1, 1, tzinfo=UTC).timestamp())}"
    assert data["Last Seen"] == f"$D_{record['ts']}"
    assert data["Code"] == "2024-05-01"  # a plain date string stays a string
    assert data["Points"] == {"$incr": 10} and data["Tags"] == {"$add": ["vip"]}
    assert data["Email"] == "ada@example.com"  # the named input wins


def test_event_record_converts_dates_inside_charged_items() -> None:
    record = event_record(
        "u1",
        "Charged",
        {"Amount": 300, "Items": [{"Category": "books", "Delivered": "2024-05-02T08:00:00Z"}]},
        ts=1714564800000,  # milliseconds are recognised
    )
    assert record["ts"] == 1714564800
    assert record["evtData"]["Items"][0]["Delivered"].startswith("$D_")


def test_bad_inputs_fail_without_retry_and_name_the_input() -> None:
    with pytest.raises(StepError, match="identity is ''") as caught:
        profile_record("")
    assert caught.value.retryable is False
    with pytest.raises(StepError, match="properties.DOB: 'soon' is not a date"):
        profile_record("u1", properties={"DOB": "soon"})
    with pytest.raises(StepError, match="from is '2024-13'; give a day as YYYYMMDD"):
        yyyymmdd("2024-13", "from")


def test_raw_json_bodies_may_carry_comments_like_the_pasted_sample() -> None:
    text = '{"d": [{"type": "profile", "url": "http://x//y"}]}\n//we can add custom properties'
    assert parse_json(text, "body") == {"d": [{"type": "profile", "url": "http://x//y"}]}
    with pytest.raises(StepError, match="body is not valid JSON: Expecting"):
        parse_json('{"d": [}', "body")


def test_rule_errors_point_at_the_input_to_fix() -> None:
    locate = input_locator("upsert_user", {"Phone": "phone"})
    assert locate("profileData.Phone") == "steps.upsert_user.with.phone"
    assert locate("profileData.Gender") == "steps.upsert_user.with.properties.Gender"
    assert locate("evtData.Items[0].Price") == "steps.upsert_user.with.event_data.Items[0].Price"
    assert locate("evtName") == "steps.upsert_user.with.event_name"


def test_unprocessed_entries_match_records_by_number_then_by_echo() -> None:
    records = [{"identity": str(i)} for i in range(4)]
    answer = {
        "status": "partial",
        "unprocessed": [
            {"code": 516, "error": "Phone... Skipped record number : 3", "record": records[2]},
            {"code": 523, "error": "no number here", "record": records[0]},
            {"code": 555, "error": "Skipped record number : 9", "record": {"identity": "x"}},
        ],
    }
    outcomes, unmatched = match_unprocessed(records, answer)
    assert [o and o["code"] for o in outcomes] == [523, None, 516, None]
    assert [u["code"] for u in unmatched] == [555]


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    policy = RequestRetries(initial=0.25, max_delay=4.0)
    assert 0.125 <= policy.delay(1, None) <= 0.25
    assert 1.0 <= policy.delay(4, None) <= 2.0
    assert 2.0 <= policy.delay(10, None) <= 4.0
    assert policy.delay(1, 7.0) == 7.0
