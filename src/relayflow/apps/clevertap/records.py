"""Building upload records from action inputs: identities, dates, timestamps, JSON text.

Dates: `DOB` may be any date form; any other property whose value is an ISO-8601 date-time
(e.g. "2024-05-01T12:00:00Z") or a date object is sent as CleverTap's "$D_<epoch>", which
is what makes it a date in segments. Plain strings such as "2024-05-01" stay strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from relayflow.apps.clevertap.rules import is_email, to_clevertap_date
from relayflow.sdk import StepError

_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)
ALWAYS_DATES = frozenset({"DOB"})


def fail(message: str) -> StepError:
    """A problem with the step's inputs: retrying cannot help."""
    return StepError(message, retryable=False)


def identity_text(value: Any, where: str = "identity") -> str:
    if isinstance(value, bool) or value is None or str(value).strip() == "":
        raise fail(f"{where} is {value!r}; give the user's id, e.g. a user id or an email")
    return str(value).strip()


def _given(value: Any) -> bool:
    return value is not None and not isinstance(value, bool) and str(value).strip() != ""


def user_keys(identity: Any = None, object_id: Any = None, email: Any = None) -> dict[str, str]:
    """The keys that name the user of an upload record, following CleverTap's rules.

    CleverTap finds the user by `identity` (your id for them, which may be an email) or
    `objectId` (its own CleverTap ID, e.g. of an anonymous app or web user); both together
    give that CleverTap ID your identity. An email is not a key of its own: a guest with
    only an email (a guest checkout) is named by it as identity.
    """
    keys: dict[str, str] = {}
    if _given(identity):
        keys["identity"] = identity_text(identity)
    if _given(object_id):
        keys["objectId"] = str(object_id).strip()
    if keys:
        return keys
    if _given(email):
        address = str(email).strip()
        if not is_email(address):
            raise fail(
                f"email {address!r} is not an email address (e.g. jack@example.com), so it "
                "cannot name a guest; give identity or object_id instead"
            )
        return {"identity": address}
    raise fail(
        f"identity is {identity!r}; give the user's id (identity), their CleverTap ID "
        "(object_id), or for a guest without either their email"
    )


def epoch_seconds(value: Any, where: str = "ts") -> int:
    """Epoch seconds from a number (ms are detected), ISO-8601 text, a date or `$D_` text."""
    try:
        return int(to_clevertap_date(value)[3:])
    except (TypeError, ValueError) as exc:
        raise fail(f"{where}: {exc}") from None


def with_dates(values: dict[str, Any], where: str) -> dict[str, Any]:
    """`values` with date-times (and DOB) converted to "$D_<epoch>"; Items lists too."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in ALWAYS_DATES and value is not None and not isinstance(value, dict):
            try:
                out[key] = to_clevertap_date(value)
            except (TypeError, ValueError) as exc:
                raise fail(f"{where}.{key}: {exc}") from None
        elif _is_datetime(value):
            out[key] = to_clevertap_date(value)
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            out[key] = [with_dates(item, f"{where}.{key}") for item in value]
        else:
            out[key] = value
    return out


def _is_datetime(value: Any) -> bool:
    if isinstance(value, date):
        return True
    return isinstance(value, str) and _ISO_DATETIME.match(value.strip()) is not None


def as_object(value: Any, where: str) -> dict[str, Any]:
    """An object input that may also arrive as JSON text (e.g. from a form or a code step)."""
    if value is None:
        return {}
    if isinstance(value, str):
        value = parse_json(value, where) if value.strip() else {}
    if not isinstance(value, dict):
        raise fail(f"{where} must be an object of properties, got {type(value).__name__}")
    return value


def parse_json(text: str, where: str) -> Any:
    """JSON text as a value; `//` and `/* */` comments (as in pasted samples) are ignored."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return json.loads(strip_comments(text))
    except json.JSONDecodeError as exc:
        line = text.splitlines()[exc.lineno - 1] if text.splitlines() else text
        raise fail(
            f"{where} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            f" ({line.strip()[:80]!r}); give an object, or fix the JSON text"
        ) from None


def strip_comments(text: str) -> str:
    """Remove `//` and `/* */` comments outside JSON strings."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        char = text[i]
        if in_string:
            out.append(char)
            if char == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end == -1 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end == -1 else end + 2
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out)


def yyyymmdd(value: Any, where: str) -> int:
    """A day as CleverTap's YYYYMMDD number, from 20240501, "20240501", "2024-05-01" or a date."""
    if isinstance(value, date):
        return int(value.strftime("%Y%m%d"))
    text = str(value).strip().replace("-", "")
    if isinstance(value, bool) or not (len(text) == 8 and text.isdigit()):
        raise fail(f"{where} is {value!r}; give a day as YYYYMMDD, e.g. 20240501")
    return int(text)


def profile_record(
    identity: Any,
    *,
    object_id: Any = None,
    name: str | None = None,
    email: str | None = None,
    phone: Any = None,
    properties: dict[str, Any] | None = None,
    ts: Any = None,
) -> dict[str, Any]:
    """A profile upload record; named fields win over the same keys in `properties`."""
    data = with_dates(dict(properties or {}), "properties")
    for key, value in (("Name", name), ("Email", email), ("Phone", phone)):
        if value is not None and str(value).strip() != "":
            data[key] = str(value).strip()
    record: dict[str, Any] = {"type": "profile", **user_keys(identity, object_id, email)}
    if ts is not None and ts != "":
        record["ts"] = epoch_seconds(ts)
    record["profileData"] = data
    return record


def event_record(
    identity: Any,
    event_name: str,
    data: dict[str, Any] | None = None,
    ts: Any = None,
    *,
    object_id: Any = None,
    email: Any = None,
) -> dict[str, Any]:
    """An event upload record, e.g. Charged with Amount, Charged ID and Items; `email`
    names a guest who has no identity or objectId (see `user_keys`)."""
    record: dict[str, Any] = {"type": "event", **user_keys(identity, object_id, email)}
    if ts is not None and ts != "":
        record["ts"] = epoch_seconds(ts)
    record["evtName"] = event_name.strip()
    record["evtData"] = with_dates(dict(data or {}), "event_data")
    return record


def input_locator(step: str, named: Mapping[str, str] | None = None) -> Callable[[str | None], str]:
    """Map a record field a rule names (e.g. profileData.Phone) to the step input to fix.

    `named` maps record keys set from their own inputs, e.g. {"Phone": "phone"}.
    """
    base = f"steps.{step}.with"
    named = named or {}

    def locate(field: str | None) -> str:
        if not field:
            return base
        head, _, rest = field.partition(".")
        if head == "profileData" and rest:
            return f"{base}.{named[rest]}" if rest in named else f"{base}.properties.{rest}"
        if head == "evtData" and rest:
            return f"{base}.event_data.{rest}"
        return f"{base}.{_RECORD_INPUTS.get(head, head)}"

    return locate


_RECORD_INPUTS = {
    "evtName": "event_name",
    "evtData": "event_data",
    "profileData": "properties",
    "objectId": "object_id",
}
