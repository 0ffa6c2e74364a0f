"""CleverTap's record rules as pure functions, shared by the sandbox and relayflow's client.

`check_record` returns the first rule a record breaks, with CleverTap's error code and a
message in CleverTap's style followed by a fix hint (509 and 513 keep CleverTap's confirmed
wording exactly, with no hint). Where the fact sheet leaves a rule open, this module
chooses, and the sandbox follows the same choice:

- Key and value limits (key > 120, string value > 512 bytes) and other malformed event
  content (non-object `evtData`, nested values, bad `Items`) use 512 "invalid event
  structure"; for profiles, which have no structure code, they use 555.
- Profiles: missing `profileData`, more than 256 custom keys, bad operation objects, unknown
  operations (`$set`) and multi-values on single-value keys without a code of their own use 555.
- Gender accepts "M" and "F" only; Phone is "+" then 8 to 15 digits; Email is a plain
  name@domain.tld check; Age a number from 0 to 150; DOB a `$D_<epoch>` date.
- `ts` must be an int of epoch seconds (not bool, float, str or milliseconds).
- `objectId` must be 1 to 64 characters of letters, digits and ( ) ! : @ $ _ - (CleverTap's
  custom-ID alphabet).
- Event values are scalars or `$D_` dates; arrays and objects are rejected (512) except the
  `Items` of Charged. Set `ALLOW_NESTED_EVENT_PROPERTIES` if CleverTap proves otherwise.
- Restricted event names (513) are the SDK's system events plus "Web Page Viewed", matched
  exactly.
- A null profile value passes and changes nothing. Token records (`type: "token"`) need
  `tokenData` {id, type} and use codes 530-534.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

MAX_RECORDS_PER_UPLOAD = 1000
MAX_CONCURRENT_REQUESTS = 15
MAX_EVENT_PROPERTIES = 256
MAX_CHARGED_ITEMS = 50
MAX_CUSTOM_PROFILE_KEYS = 256
MAX_KEY_LENGTH = 120
MAX_VALUE_BYTES = 512
MAX_EVENT_NAME_LENGTH = 512
MAX_MULTI_VALUES = 100
ALLOW_NESTED_EVENT_PROPERTIES = False

RECORD_TYPES = frozenset({"profile", "event", "token"})
IDENTITY_FIELDS = ("identity", "FBID", "GPID", "objectId")
PROPERTY_OPERATIONS = frozenset({"$add", "$remove", "$incr", "$decr", "$delete"})
# fmt: off
RESTRICTED_EVENTS = frozenset({
    "Stayed", "Notification Clicked", "Notification Viewed", "Notification Sent",
    "Notification Bounced", "UTM Visited", "App Launched", "App Uninstalled", "wzrk_d",
    "Geocluster Entered", "Geocluster Exited", "Web Page Viewed",
    "SCOutgoing", "SCIncoming", "SCEnd", "SCCampaignOptOut",
    "DCOutgoing", "DCIncoming", "DCEnd", "DCCampaignOptOut",
})
TOKEN_TYPES = frozenset({"apns", "fcm", "gcm", "hps", "bps", "wns", "mpns", "xps"})
SYSTEM_PROFILE_KEYS = frozenset({
    "Name", "Email", "Phone", "Gender", "DOB", "Age", "Employed", "Married", "Education",
    "Customer Type", "Photo", "MSG-email", "MSG-push", "MSG-sms", "MSG-whatsapp",
    "MSG-dndPhone", "MSG-dndEmail",
})
SINGLE_VALUE_PROFILE_KEYS = frozenset({
    "Name", "Email", "Education", "Married", "DOB", "Gender", "Phone", "Age", "FBID", "GPID",
    "Birthday", "Employed",
})
# fmt: on

EXAMPLE_PHONE = "+14155550100"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^\+\d{8,15}$")
_OBJECT_ID = re.compile(r"^[A-Za-z0-9()!:@$_\-]{1,64}$")
_CT_DATE = re.compile(r"^\$D_-?\d+$")
# Epoch seconds beyond this (year 5138) are almost surely milliseconds.
_MAX_EPOCH_SECONDS = 100_000_000_000


@dataclass(frozen=True)
class RecordError:
    """Why CleverTap would skip one upload record."""

    code: int
    message: str
    field: str | None
    hint: str | None = None

    def __str__(self) -> str:
        return self.message


class UploadError(ValueError):
    """The upload body itself is malformed (CleverTap answers HTTP 400)."""


# Per code: what the message is about, and CleverTap's description (§2.8).
_CODES = {
    509: ("Event Name", "Event name is mandatory"),
    512: ("Event Data", "Invalid event structure"),
    513: ("Event Name", "Trying to raise a restricted system event"),
    514: ("Gender", "Gender is invalid"),
    515: ("Email", "Email is invalid"),
    516: ("Phone", "Phone number is invalid"),
    517: ("Employed", "Employment status is invalid"),
    518: ("Education", "Education status is invalid"),
    519: ("Married", "Marital status is invalid"),
    520: ("Age", "Age is invalid"),
    522: ("Event Data", "Event properties limit exceeded"),
    523: ("Identity", "Identity is missing"),
    524: ("Record Type", "Data is neither event nor profile"),
    525: ("Timestamp", "Timestamp is not in UNIX epoch format"),
    526: ("objectId", "objectId is invalid"),
    530: ("objectId", "objectId is invalid"),
    531: ("Token Data", "Token data is invalid"),
    532: ("Token Id", "Token id is missing"),
    533: ("Token Type", "Token type is missing"),
    534: ("Token Type", "Token type is not valid for the objectId"),
    555: ("Profile Data", "Miscellaneous error"),
}


def _error(code: int, field: str | None, hint: str | None = None) -> RecordError:
    subject, description = _CODES[code]
    message = f"{subject} is incorrect. ErrorCode: {code} - {description}."
    if hint:
        message = f"{message} {hint}"
    return RecordError(code=code, message=message, field=field, hint=hint)


def _show(value: Any) -> str:
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _utf8_len(value: str) -> int:
    return len(value) if value.isascii() else len(value.encode("utf-8"))


def check_record(record: dict) -> RecordError | None:
    """Return the first CleverTap rule that one upload record breaks, or None if it passes."""
    if not isinstance(record, dict):
        return _error(524, None, f"Each item of d must be an object, got {_show(record)}")
    kind = record.get("type")
    if kind not in RECORD_TYPES:
        return _error(524, "type", f'type is {_show(kind)}; use "profile", "event" or "token"')
    error = _check_identity(record) or _check_ts(record.get("ts"))
    if error:
        return error
    if kind == "event":
        return _check_event(record)
    if kind == "profile":
        return _check_profile(record.get("profileData"))
    return _check_token(record)


def check_upload(body: Any) -> list[RecordError | None]:
    """Check an upload body `{"d": [...]}`: one entry per record, None for a record that passes.

    Raises UploadError when the body itself is malformed or holds more than 1000 records.
    """
    records = upload_records(body)
    return [check_record(record) for record in records]


def upload_records(body: Any) -> list[Any]:
    """Return the records of an upload body, or raise UploadError naming what is wrong."""
    if not isinstance(body, dict) or "d" not in body:
        raise UploadError('The upload body must be a JSON object {"d": [record, ...]}')
    records = body["d"]
    if not isinstance(records, list):
        raise UploadError(f'"d" must be an array of records, got {type(records).__name__}')
    if len(records) > MAX_RECORDS_PER_UPLOAD:
        raise UploadError(
            f"Too many records: {len(records)}. CleverTap accepts at most "
            f"{MAX_RECORDS_PER_UPLOAD} records per upload request; split them into batches."
        )
    return records


def unprocessed_entry(record: Any, error: RecordError, index: int) -> dict:
    """CleverTap's `unprocessed` item for the record at 1-based position `index`."""
    message = error.message if error.message.endswith(".") else error.message + "."
    return {
        "status": "fail",
        "code": error.code,
        "error": f"{message} Skipped record number : {index}",
        "record": record,
    }


def record_key(record: dict) -> tuple[str, str] | None:
    """The identity field and value a client keys the record by (identity, FBID, GPID,
    objectId, in that order), or None when it has none."""
    for name in IDENTITY_FIELDS:
        value = record.get(name)
        if _present(value):
            return name, str(value)
    return None


def _present(value: Any) -> bool:
    return value is not None and value != "" and not isinstance(value, bool)


def _check_identity(record: dict) -> RecordError | None:
    if not any(_present(record.get(name)) for name in IDENTITY_FIELDS):
        for name in ("email", "Email"):
            if _present(record.get(name)):
                hint = (
                    f"{name} does not name a user in an upload; send the address as identity "
                    "(CleverTap takes an email as identity) or give the objectId"
                )
                return _error(523, name, hint)
        return _error(523, "identity", "Add one of identity, objectId, FBID or GPID to the record")
    for name in ("identity", "FBID", "GPID"):
        value = record.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            return _error(523, name, f"{name} must be a string, got {_show(value)}")
    object_id = record.get("objectId")
    if object_id is not None and (
        not isinstance(object_id, str) or not _OBJECT_ID.match(object_id)
    ):
        code = 530 if record.get("type") == "token" else 526
        return _error(
            code,
            "objectId",
            f"objectId {_show(object_id)} is not a CleverTap ID; use the ID CleverTap "
            "assigned (e.g. -2ce3cca260664f70b82b1c6bb505f462), or send identity instead",
        )
    return None


def _check_ts(ts: Any) -> RecordError | None:
    if ts is None:
        return None
    if isinstance(ts, bool) or not isinstance(ts, int):
        hint = f"ts is {_show(ts)}; send whole epoch seconds as a number, e.g. 1468208340"
        return _error(525, "ts", hint)
    if ts < 0:
        return _error(525, "ts", f"ts {ts} is negative; send epoch seconds")
    if ts >= _MAX_EPOCH_SECONDS:
        hint = f"ts {ts} looks like milliseconds; send seconds, e.g. {ts // 1000}"
        return _error(525, "ts", hint)
    return None


def _check_event(record: dict) -> RecordError | None:
    name = record.get("evtName")
    if name is None or (isinstance(name, str) and not name.strip()):
        return _error(509, "evtName")
    if not isinstance(name, str):
        return _error(512, "evtName", f"evtName must be a string, got {_show(name)}")
    if name in RESTRICTED_EVENTS:
        return _error(513, "evtName")
    if len(name) > MAX_EVENT_NAME_LENGTH:
        hint = f"evtName is {len(name)} characters; the limit is {MAX_EVENT_NAME_LENGTH}"
        return _error(512, "evtName", hint)
    data = record.get("evtData")
    if not isinstance(data, dict):
        hint = f"evtData must be an object of event properties, e.g. {{}}, got {_show(data)}"
        return _error(512, "evtData", hint)
    if len(data) > MAX_EVENT_PROPERTIES:
        hint = f"evtData has {len(data)} properties; the limit is {MAX_EVENT_PROPERTIES}"
        return _error(522, "evtData", hint)
    for key, value in data.items():
        field = f"evtData.{key}"
        if len(key) > MAX_KEY_LENGTH:
            hint = f"Property name is {len(key)} characters; the limit is {MAX_KEY_LENGTH}"
            return _error(512, field, hint)
        if name == "Charged" and key == "Items":
            error = _check_items(value)
        else:
            error = _check_event_value(field, value)
        if error:
            return error
    return None


def _check_event_value(field: str, value: Any) -> RecordError | None:
    if isinstance(value, str):
        if _utf8_len(value) > MAX_VALUE_BYTES:
            hint = f"{field} is {_utf8_len(value)} bytes; the limit is {MAX_VALUE_BYTES}"
            return _error(512, field, hint)
        return None
    if value is None or isinstance(value, int | float):
        return None
    if ALLOW_NESTED_EVENT_PROPERTIES:
        return None
    hint = f"{field} is {_show(value)}; event properties must be strings, numbers or booleans"
    return _error(512, field, hint)


def _check_items(items: Any) -> RecordError | None:
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        hint = 'Charged "Items" must be an array of objects, e.g. [{"Category": "books"}]'
        return _error(512, "evtData.Items", hint)
    if len(items) > MAX_CHARGED_ITEMS:
        hint = f"Charged has {len(items)} Items; the limit is {MAX_CHARGED_ITEMS}"
        return _error(522, "evtData.Items", hint)
    for position, item in enumerate(items):
        for key, value in item.items():
            field = f"evtData.Items[{position}].{key}"
            if len(key) > MAX_KEY_LENGTH:
                hint = f"Item key is {len(key)} characters; the limit is {MAX_KEY_LENGTH}"
                return _error(512, field, hint)
            error = _check_event_value(field, value)
            if error:
                return error
    return None


def _check_profile(data: Any) -> RecordError | None:
    if not isinstance(data, dict):
        hint = f"profileData must be an object of profile properties, got {_show(data)}"
        return _error(555, "profileData", hint)
    if len(data) > MAX_CUSTOM_PROFILE_KEYS:
        custom = sum(1 for key in data if key not in SYSTEM_PROFILE_KEYS)
        if custom > MAX_CUSTOM_PROFILE_KEYS:
            hint = f"profileData has {custom} custom keys; the limit is {MAX_CUSTOM_PROFILE_KEYS}"
            return _error(555, "profileData", hint)
    for key, value in data.items():
        if _plainly_valid(key, value):
            continue
        field = f"profileData.{key}"
        if _utf8_len(key) > MAX_KEY_LENGTH:
            hint = f"Property name is {_utf8_len(key)} bytes; the limit is {MAX_KEY_LENGTH}"
            return _error(555, field, hint)
        if isinstance(value, dict):
            error = _check_operation(key, field, value)
        elif isinstance(value, list):
            error = _check_multi_value(key, field, value)
        else:
            error = _check_profile_value(key, field, value)
        if error:
            return error
    return None


# A key of at most 30 characters is at most 120 bytes, a value of 128 at most 512: no need
# to encode them to know they are within the limits.
_SHORT_KEY = MAX_KEY_LENGTH // 4
_SHORT_VALUE = MAX_VALUE_BYTES // 4


def _plainly_valid(key: str, value: Any) -> bool:
    """True for the common case that needs no closer look (bulk imports check millions):
    a short custom string or number, or a system value that its own check accepts."""
    if len(key) > _SHORT_KEY:
        return False
    kind = type(value)
    if kind is str:
        if len(value) > _SHORT_VALUE:
            return False
        if key in _SYSTEM_CHECKS:
            return _FAST_ACCEPT.get(key, _never)(value)
        return key[:4] != "MSG-"
    if kind is int or kind is float:
        if key == "Age":
            return 0 <= value <= 150
        return key not in _SYSTEM_CHECKS and key[:4] != "MSG-"
    return False


def _never(value: Any) -> bool:
    return False


def _check_operation(key: str, field: str, value: dict) -> RecordError | None:
    if len(value) != 1:
        hint = (
            f"{field} must be a plain value or one operation such as "
            f'{{"$add": ["a"]}}, got {_show(value)}'
        )
        return _error(555, field, hint)
    operation, operand = next(iter(value.items()))
    if operation not in PROPERTY_OPERATIONS:
        hint = f"{field}: {operation} is not an operation CleverTap knows; use one of " + ", ".join(
            sorted(PROPERTY_OPERATIONS)
        )
        if operation == "$set":
            hint += ", or a plain array to overwrite a multi-value property"
        return _error(555, field, hint)
    if operation in ("$add", "$remove"):
        if key in SINGLE_VALUE_PROFILE_KEYS:
            return _single_value_error(key, field)
        values = operand if isinstance(operand, list) else [operand]
        return _check_multi_items(field, values)
    if operation in ("$incr", "$decr") and not _is_number(operand):
        hint = f"{field}: {operation} needs a number, got {_show(operand)}"
        return _error(555, field, hint)
    return None


def _check_multi_value(key: str, field: str, values: list) -> RecordError | None:
    if key in SINGLE_VALUE_PROFILE_KEYS:
        return _single_value_error(key, field)
    return _check_multi_items(field, values)


def _check_multi_items(field: str, values: Iterable[Any]) -> RecordError | None:
    for item in values:
        if not isinstance(item, str):
            hint = f"{field}: multi-value items must be strings, got {_show(item)}"
            return _error(555, field, hint)
        if _utf8_len(item) > MAX_VALUE_BYTES:
            hint = f"{field}: an item is {_utf8_len(item)} bytes; the limit is {MAX_VALUE_BYTES}"
            return _error(555, field, hint)
    return None


def _single_value_error(key: str, field: str) -> RecordError:
    code = {
        "Gender": 514,
        "Email": 515,
        "Phone": 516,
        "Employed": 517,
        "Education": 518,
        "Married": 519,
        "Age": 520,
    }.get(key, 555)
    return _error(code, field, f"{key} holds one value; send a single value, not an array")


def _check_profile_value(key: str, field: str, value: Any) -> RecordError | None:
    if value is None:
        return None
    check = _SYSTEM_CHECKS.get(key)
    if check:
        error = check(field, value)
        if error:
            return error
    elif key.startswith("MSG-") and not isinstance(value, bool):
        return _error(555, field, f"{key} is a subscription flag; send true or false")
    if isinstance(value, str) and _utf8_len(value) > MAX_VALUE_BYTES:
        hint = f"{field} is {_utf8_len(value)} bytes; the limit is {MAX_VALUE_BYTES}"
        return _error(555, field, hint)
    if not isinstance(value, str | int | float):
        hint = f"{field} must be a string, number, boolean or date, got {_show(value)}"
        return _error(555, field, hint)
    return None


def _check_gender(field: str, value: Any) -> RecordError | None:
    if value in ("M", "F"):
        return None
    return _error(514, field, f'Gender {_show(value)} is not accepted; use "M" or "F"')


def is_email(value: Any) -> bool:
    """Whether CleverTap would take `value` as an email address (Email, 515)."""
    return isinstance(value, str) and _EMAIL.match(value) is not None


def _check_email(field: str, value: Any) -> RecordError | None:
    if is_email(value):
        return None
    return _error(
        515, field, f"Email {_show(value)} is not an email address, e.g. jack@example.com"
    )


def _check_phone(field: str, value: Any) -> RecordError | None:
    if isinstance(value, str) and _PHONE.match(value):
        return None
    return _error(516, field, phone_hint(value))


def phone_hint(value: Any) -> str:
    """Say what is wrong with a Phone value and how to write it."""
    wanted = f"CleverTap wants +<country><number>, e.g. {EXAMPLE_PHONE}"
    if not isinstance(value, str):
        return f"Phone {_show(value)} must be a string; {wanted}"
    if value.isdigit():
        return f"Phone {_show(value)} has no country code; {wanted}"
    if not value.startswith("+"):
        return f"Phone {_show(value)} must start with + and the country code; {wanted}"
    digits = value[1:]
    if not digits.isdigit():
        return f"Phone {_show(value)} has characters other than digits after +; {wanted}"
    return f"Phone {_show(value)} has {len(digits)} digits; CleverTap wants 8 to 15 after +"


def _check_yes_no(code: int, name: str) -> Callable[[str, Any], RecordError | None]:
    def check(field: str, value: Any) -> RecordError | None:
        if value in ("Y", "N"):
            return None
        return _error(code, field, f'{name} {_show(value)} is not accepted; use "Y" or "N"')

    return check


def _check_education(field: str, value: Any) -> RecordError | None:
    if value in ("Graduate", "College", "School"):
        return None
    hint = f'Education {_show(value)} is not accepted; use "Graduate", "College" or "School"'
    return _error(518, field, hint)


def _check_age(field: str, value: Any) -> RecordError | None:
    if _is_number(value) and 0 <= value <= 150:
        return None
    return _error(520, field, f"Age {_show(value)} must be a number from 0 to 150, e.g. 30")


def _check_dob(field: str, value: Any) -> RecordError | None:
    if is_clevertap_date(value):
        return None
    hint = f'DOB {_show(value)} must be a CleverTap date "$D_<epoch seconds>", e.g. "$D_631152000"'
    return _error(555, field, hint)


def _check_name(field: str, value: Any) -> RecordError | None:
    if isinstance(value, str):
        return None
    return _error(555, field, f"Name {_show(value)} must be a string")


# What each system check accepts, without building its error (see _plainly_valid).
_FAST_ACCEPT = {
    "Name": lambda value: True,
    "Email": lambda value: _EMAIL.match(value) is not None,
    "Phone": lambda value: _PHONE.match(value) is not None,
    "Gender": lambda value: value in ("M", "F"),
}

_SYSTEM_CHECKS = {
    "Gender": _check_gender,
    "Email": _check_email,
    "Phone": _check_phone,
    "Employed": _check_yes_no(517, "Employed"),
    "Married": _check_yes_no(519, "Married"),
    "Education": _check_education,
    "Age": _check_age,
    "DOB": _check_dob,
    "Name": _check_name,
}


def _check_token(record: dict) -> RecordError | None:
    data = record.get("tokenData")
    if not isinstance(data, dict):
        hint = 'Add "tokenData": {"id": "<push token>", "type": "fcm"}'
        return _error(531, "tokenData", hint)
    if not isinstance(data.get("id"), str) or not data["id"]:
        return _error(532, "tokenData.id", "Add the push token as tokenData.id")
    token_type = data.get("type")
    if not token_type:
        return _error(533, "tokenData.type", 'Add tokenData.type, e.g. "fcm" or "apns"')
    if token_type not in TOKEN_TYPES:
        hint = f"tokenData.type {_show(token_type)} is unknown; use one of " + ", ".join(
            sorted(TOKEN_TYPES)
        )
        return _error(534, "tokenData.type", hint)
    return None


def is_clevertap_date(value: Any) -> bool:
    """True for CleverTap's date form `"$D_<epoch seconds>"`."""
    return isinstance(value, str) and _CT_DATE.match(value) is not None


def to_clevertap_date(value: Any) -> str:
    """Return `value` as CleverTap's `"$D_<epoch seconds>"`.

    Takes a datetime (naive means UTC), a date (midnight UTC), an ISO-8601 string, epoch
    seconds (numbers from 1e11 up are taken as milliseconds), or an existing `$D_` string.
    Raises ValueError or TypeError naming the value and the accepted forms.
    """
    if isinstance(value, bool):
        raise TypeError(f"{value!r} is not a date; pass a datetime, ISO-8601 text or epoch seconds")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return f"$D_{int(moment.timestamp())}"
    if isinstance(value, date):
        return to_clevertap_date(datetime.combine(value, time(), tzinfo=UTC))
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a date; pass epoch seconds as a finite number")
        seconds = value / 1000 if abs(value) >= _MAX_EPOCH_SECONDS else value
        return f"$D_{int(seconds)}"
    if isinstance(value, str):
        text = value.strip()
        if is_clevertap_date(text):
            return text
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return to_clevertap_date(float(text))
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a date CleverTap can take; use ISO-8601 such as "
                "2024-05-01T12:00:00Z, epoch seconds, or $D_<epoch seconds>"
            ) from None
        return to_clevertap_date(parsed)
    raise TypeError(
        f"{type(value).__name__} {value!r} is not a date; pass a datetime, ISO-8601 text "
        "or epoch seconds"
    )
