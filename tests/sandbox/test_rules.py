"""CleverTap's record rules, one test per rule, with the messages users will read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from relayflow.apps.clevertap.rules import (
    MAX_CONCURRENT_REQUESTS,
    MAX_RECORDS_PER_UPLOAD,
    PROPERTY_OPERATIONS,
    RESTRICTED_EVENTS,
    RecordError,
    UploadError,
    check_record,
    check_upload,
    is_clevertap_date,
    record_key,
    to_clevertap_date,
    unprocessed_entry,
)


def profile(**data: object) -> dict:
    return {"type": "profile", "identity": "u1", "profileData": data}


def event(name: object = "Product Viewed", data: object = None, **extra: object) -> dict:
    record = {"type": "event", "identity": "u1", "evtName": name, "evtData": data or {}}
    record.update(extra)
    return record


def code_of(record: object) -> int | None:
    error = check_record(record)  # type: ignore[arg-type]
    return error.code if error else None


def test_constants_match_the_fact_sheet() -> None:
    assert MAX_RECORDS_PER_UPLOAD == 1000
    assert MAX_CONCURRENT_REQUESTS == 15
    assert {"$add", "$remove", "$incr", "$decr", "$delete"} == PROPERTY_OPERATIONS
    assert {"App Launched", "Notification Sent", "UTM Visited", "Web Page Viewed"} <= (
        RESTRICTED_EVENTS
    )
    assert "Charged" not in RESTRICTED_EVENTS


def test_valid_profile_from_test_vector_1_passes() -> None:
    record = profile(
        Name="Jack Montana",
        Email="jack@gmail.com",
        Phone="+14155551234",
        Gender="M",
        DOB="$D_1487576752",
        **{"MSG-sms": False},
    )
    assert check_record(record) is None


def test_valid_charged_event_with_items_passes() -> None:
    items = [{"Category": "books", "Book name": "Achieving inner zen", "Quantity": 4}]
    record = event("Charged", {"Amount": 300, "Delivery By": "$D_1468322268", "Items": items})
    record["ts"] = 1468208340
    assert check_record(record) is None


def test_event_keyed_by_fbid_passes_and_extra_source_keys_are_tolerated() -> None:
    record = {"type": "event", "FBID": "34322423", "evtName": "Product viewed", "evtData": {}}
    record["$source"] = "Pipedream"
    assert check_record(record) is None


def test_509_event_without_name_keeps_clevertaps_wording() -> None:
    error = check_record({"type": "event", "identity": "user123", "evtData": {"revenue": 4.99}})
    assert error == RecordError(
        code=509,
        message="Event Name is incorrect. ErrorCode: 509 - Event name is mandatory.",
        field="evtName",
    )
    assert code_of(event("  ")) == 509


def test_512_invalid_event_structure() -> None:
    assert code_of(event(1234)) == 512
    assert code_of({"type": "event", "identity": "u1", "evtName": "A"}) == 512
    assert code_of(event("A", {"nested": {"a": 1}})) == 512
    assert code_of(event("A", {"list": [1, 2]})) == 512
    assert code_of(event("Charged", {"Items": {"Category": "books"}})) == 512


def test_512_event_key_longer_than_120_and_value_over_512_bytes() -> None:
    assert code_of(event("A", {"k" * 120: 1})) is None
    error = check_record(event("A", {"k" * 121: 1}))
    assert error is not None and error.code == 512
    assert "121 characters; the limit is 120" in error.message
    assert code_of(event("A", {"k": "é" * 256})) is None
    error = check_record(event("A", {"k": "é" * 257}))
    assert error is not None and error.code == 512 and error.field == "evtData.k"
    assert "514 bytes; the limit is 512" in error.message


def test_513_restricted_system_event_keeps_clevertaps_wording() -> None:
    error = check_record(event("App Launched"))
    assert error is not None
    assert error.code == 513
    assert error.message == (
        "Event Name is incorrect. ErrorCode: 513 - Trying to raise a restricted system event."
    )
    assert code_of(event("Web Page Viewed")) == 513


def test_514_gender_accepts_m_and_f_only() -> None:
    assert code_of(profile(Gender="F")) is None
    for value in ("X", "Male", "m", 1):
        error = check_record(profile(Gender=value))
        assert error is not None and error.code == 514, value
    error = check_record(profile(Gender="X"))
    assert error is not None
    assert error.hint == 'Gender "X" is not accepted; use "M" or "F"'


def test_515_email() -> None:
    assert code_of(profile(Email="jack@example.com")) is None
    error = check_record(profile(Email="nope"))
    assert error is not None and error.code == 515 and error.field == "profileData.Email"
    assert error.message.startswith("Email is incorrect. ErrorCode: 515 - Email is invalid.")


def test_516_phone_without_country_code_says_how_to_fix_it() -> None:
    error = check_record(profile(Phone="4155550100"))
    assert error is not None
    assert error.code == 516
    assert error.field == "profileData.Phone"
    assert error.hint == (
        'Phone "4155550100" has no country code; CleverTap wants +<country><number>, '
        "e.g. +14155550100"
    )
    assert error.message == (
        "Phone is incorrect. ErrorCode: 516 - Phone number is invalid. "
        'Phone "4155550100" has no country code; CleverTap wants +<country><number>, '
        "e.g. +14155550100"
    )


@pytest.mark.parametrize(
    ("value", "hint_part"),
    [
        ("+1 415-555-0100", "has characters other than digits after +"),
        ("+1234", "has 4 digits; CleverTap wants 8 to 15 after +"),
        ("+1234567890123456", "has 16 digits"),
        ("00-44-20", "must start with + and the country code"),
        (14155550100, "must be a string"),
    ],
)
def test_516_other_phone_mistakes(value: object, hint_part: str) -> None:
    error = check_record(profile(Phone=value))
    assert error is not None and error.code == 516
    assert error.hint is not None and hint_part in error.hint


def test_517_518_519_520_employment_education_marital_status_and_age() -> None:
    assert code_of(profile(Employed="Y", Married="N", Education="College", Age=30)) is None
    assert code_of(profile(Employed="yes")) == 517
    assert code_of(profile(Education="PhD")) == 518
    assert code_of(profile(Married=True)) == 519
    assert code_of(profile(Age="30")) == 520
    assert code_of(profile(Age=-1)) == 520
    assert code_of(profile(Age=True)) == 520


def test_522_too_many_event_properties_and_too_many_charged_items() -> None:
    assert code_of(event("A", {f"p{i}": i for i in range(256)})) is None
    assert code_of(event("A", {f"p{i}": i for i in range(257)})) == 522
    items = [{"Category": "books"}] * 50
    assert code_of(event("Charged", {"Items": items})) is None
    error = check_record(event("Charged", {"Items": [*items, {"Category": "bags"}]}))
    assert error is not None and error.code == 522
    assert error.hint == "Charged has 51 Items; the limit is 50"


def test_523_missing_identity_names_the_four_fields() -> None:
    error = check_record({"type": "event", "evtName": "A", "evtData": {}})
    assert error is not None and error.code == 523
    assert error.hint == "Add one of identity, objectId, FBID or GPID to the record"
    assert code_of({"type": "profile", "identity": "", "profileData": {}}) == 523
    assert code_of({"type": "profile", "identity": {"id": 1}, "objectId": "abc"}) == 523


def test_523_an_email_alone_does_not_name_a_user_in_an_upload() -> None:
    # CleverTap keys uploads by identity, objectId, FBID or GPID; a guest's email goes in
    # identity (docs/clevertap-api.md §G).
    error = check_record({"type": "event", "email": "g@x.io", "evtName": "A", "evtData": {}})
    assert error is not None and error.code == 523 and error.field == "email"
    assert "send the address as identity" in error.message
    assert code_of({"type": "event", "identity": "g@x.io", "evtName": "A", "evtData": {}}) is None
    assert code_of({"type": "profile", "objectId": "__g5b4f8a2c", "profileData": {}}) is None


def test_524_record_neither_event_nor_profile() -> None:
    assert code_of({"identity": "u1", "evtName": "A", "evtData": {}}) == 524
    assert code_of({"type": "user", "identity": "u1"}) == 524
    assert code_of("not an object") == 524


@pytest.mark.parametrize("ts", ["yesterday", "1468208340", 1468208340.5, True, -5])
def test_525_timestamp_must_be_whole_epoch_seconds(ts: object) -> None:
    assert code_of(event(ts=ts)) == 525


def test_525_timestamp_in_milliseconds_suggests_seconds() -> None:
    error = check_record(event(ts=1468208340000))
    assert error is not None and error.code == 525
    assert error.hint == "ts 1468208340000 looks like milliseconds; send seconds, e.g. 1468208340"
    assert code_of(event(ts=1468208340)) is None


def test_526_invalid_object_id() -> None:
    record = {"type": "event", "objectId": "-2ce3cca260664f70b82b1c6bb505f462"}
    assert code_of({**record, "evtName": "A", "evtData": {}}) is None
    assert code_of({**event(), "objectId": "has spaces in it"}) == 526
    assert code_of({**event(), "objectId": 12345}) == 526
    assert code_of({**event(), "objectId": "x" * 65}) == 526


def test_555_profile_structure_limits_and_operations() -> None:
    assert code_of({"type": "profile", "identity": "u1"}) == 555
    assert code_of(profile(**{"k" * 121: 1})) == 555
    assert code_of(profile(Note="x" * 513)) == 555
    custom = {f"c{i}": i for i in range(257)}
    error = check_record(profile(**custom))
    assert error is not None and error.code == 555
    assert error.hint == "profileData has 257 custom keys; the limit is 256"
    assert code_of(profile(**{f"c{i}": i for i in range(256)}, Name="A")) is None
    error = check_record(profile(Tags={"$set": ["a"]}))
    assert error is not None and error.code == 555
    assert "a plain array to overwrite" in (error.hint or "")
    assert code_of(profile(Score={"$incr": "ten"})) == 555
    assert code_of(profile(Tags={"$add": ["a", 1]})) == 555
    assert code_of(profile(Score={"$incr": 1, "$decr": 2})) == 555
    assert code_of(profile(DOB="1990-01-01")) == 555
    assert code_of(profile(**{"MSG-email": "yes"})) == 555


def test_property_operations_pass() -> None:
    record = profile(
        Tags={"$add": ["shoes", "bags"]},
        Old={"$remove": ["shoes"]},
        Score={"$incr": 10},
        Credits={"$decr": 2.5},
        Name={"$delete": 1},
        Stuff=["a", "b"],
    )
    assert check_record(record) is None


def test_single_value_keys_refuse_arrays_with_their_own_code() -> None:
    assert code_of(profile(Email=["a@b.co"])) == 515
    assert code_of(profile(Phone={"$add": ["+14155550100"]})) == 516
    assert code_of(profile(Name=["A", "B"])) == 555


def test_token_records() -> None:
    token = {"type": "token", "objectId": "__abc123", "tokenData": {"id": "tok", "type": "fcm"}}
    assert check_record(token) is None
    assert code_of({**token, "tokenData": "tok"}) == 531
    assert code_of({**token, "tokenData": {"type": "fcm"}}) == 532
    assert code_of({**token, "tokenData": {"id": "tok"}}) == 533
    assert code_of({**token, "tokenData": {"id": "tok", "type": "pigeon"}}) == 534
    assert code_of({**token, "objectId": "bad id!"}) == 530


def test_check_upload_gives_one_result_per_record() -> None:
    results = check_upload({"d": [profile(Name="A"), event(None), event("App Launched")]})
    assert [r.code if r else None for r in results] == [None, 509, 513]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], 'must be a JSON object {"d": [record, ...]}'),
        ({"data": []}, 'must be a JSON object {"d": [record, ...]}'),
        ({"d": {}}, '"d" must be an array of records, got dict'),
        ({"d": [{}] * 1001}, "Too many records: 1001. CleverTap accepts at most 1000"),
    ],
)
def test_check_upload_refuses_malformed_bodies(body: object, message: str) -> None:
    with pytest.raises(UploadError, match=message.replace("[", r"\[").replace("{", r"\{")):
        check_upload(body)


def test_unprocessed_entry_matches_clevertaps_item() -> None:
    record = {"evtData": {"name": 1234, "revenue": 4.99}, "type": "event", "identity": "user123"}
    error = check_record(record)
    assert error is not None
    assert unprocessed_entry(record, error, 2) == {
        "status": "fail",
        "code": 509,
        "error": (
            "Event Name is incorrect. ErrorCode: 509 - Event name is mandatory. "
            "Skipped record number : 2"
        ),
        "record": record,
    }
    phone = check_record(profile(Phone="4155550100"))
    assert phone is not None
    entry = unprocessed_entry(profile(Phone="4155550100"), phone, 1)
    assert entry["error"].endswith("e.g. +14155550100. Skipped record number : 1")


def test_to_clevertap_date_from_each_accepted_form() -> None:
    moment = datetime(2017, 2, 20, 7, 45, 52, tzinfo=UTC)
    assert to_clevertap_date(moment) == "$D_1487576752"
    assert to_clevertap_date(moment.replace(tzinfo=None)) == "$D_1487576752"
    plus_two = moment.astimezone(timezone(timedelta(hours=2)))
    assert to_clevertap_date(plus_two) == "$D_1487576752"
    assert to_clevertap_date("2017-02-20T07:45:52Z") == "$D_1487576752"
    assert to_clevertap_date("2017-02-20T09:45:52+02:00") == "$D_1487576752"
    assert to_clevertap_date("2017-02-20") == "$D_1487548800"
    assert to_clevertap_date(date(2017, 2, 20)) == "$D_1487548800"
    assert to_clevertap_date(1487576752) == "$D_1487576752"
    assert to_clevertap_date(1487576752.9) == "$D_1487576752"
    assert to_clevertap_date(1487576752000) == "$D_1487576752"
    assert to_clevertap_date("1487576752") == "$D_1487576752"
    assert to_clevertap_date("$D_1487576752") == "$D_1487576752"


def test_to_clevertap_date_refuses_what_is_not_a_date() -> None:
    with pytest.raises(ValueError, match="use ISO-8601 such as 2024-05-01T12:00:00Z"):
        to_clevertap_date("next tuesday")
    with pytest.raises(TypeError, match="not a date"):
        to_clevertap_date(True)
    with pytest.raises(TypeError, match="not a date"):
        to_clevertap_date([2017, 2, 20])


def test_is_clevertap_date() -> None:
    assert is_clevertap_date("$D_1487576752")
    assert not is_clevertap_date("$D_")
    assert not is_clevertap_date("2017-02-20")
    assert not is_clevertap_date(1487576752)


def test_record_key_follows_the_clients_order() -> None:
    assert record_key({"objectId": "-abc", "GPID": "g1", "identity": 42}) == ("identity", "42")
    assert record_key({"objectId": "-abc", "GPID": "g1", "identity": ""}) == ("GPID", "g1")
    assert record_key({"objectId": "-abc"}) == ("objectId", "-abc")
    assert record_key({"type": "event"}) is None
