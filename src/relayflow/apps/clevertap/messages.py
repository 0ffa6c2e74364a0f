"""Messages to chosen users: the rules of a send, shared by relayflow's client and the sandbox.

Two of CleverTap's APIs send to users named in `to` (docs/clevertap-api.md §M):

- External Trigger (`/1/send/externaltrigger.json`): a campaign built in the dashboard, its
  `campaign_id`, and `ExternalTrigger` key-values that fill `{{ExternalTrigger.<key>}}`
  in the message. Values are strings, or lists of objects of strings (for loops such as
  order items); CleverTap supports only strings. `/2/send/externaltrigger.json` takes
  several such sends in one request (`{"d": [...]}`) and needs the X-CleverTap-Token.
- Create Campaign by user (`/1/send/<channel>.json`, channel push, webpush, email, sms or
  whatsapp): the message itself in `content`.

`to` names users by `identity`, `email` or `objectId` (External Trigger spells them so;
Create Campaign by user uses `Identity`, `Email`, `objectId`, `FBID`, `GPID`: both are
accepted). A request names at most 1000 users (relayflow's choice where CleverTap's
pages do not say; see the doc).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from relayflow.apps.clevertap.rules import is_email

MAX_USERS_PER_SEND = 1000
MAX_SENDS_PER_BULK = 1000
MAX_CAMPAIGNS_PER_BULK = 5
SEND_CHANNELS = ("push", "webpush", "email", "sms", "whatsapp")
# `to` keys as each API spells them -> the identifier they name.
RECIPIENT_KEYS = {
    "identity": "identity",
    "Identity": "identity",
    "email": "email",
    "Email": "email",
    "objectId": "objectId",
    "FBID": "FBID",
    "GPID": "GPID",
}
_CAMPAIGN_ID = re.compile(r"^[1-9]\d{0,18}$")


class SendError(ValueError):
    """A send CleverTap would refuse (HTTP 400); the message says what to fix."""


@dataclass(frozen=True)
class Recipient:
    """One user a send names: which identifier, and its value."""

    kind: str  # identity, email, objectId, FBID or GPID
    value: str

    def as_dict(self) -> dict[str, str]:
        return {self.kind: self.value}


def campaign_id_of(value: Any, where: str = "campaign_id") -> int:
    """A campaign id as the integer CleverTap gave it; SendError naming the value if not."""
    text = str(value).strip() if not isinstance(value, bool) else ""
    if not _CAMPAIGN_ID.match(text):
        raise SendError(
            f"{where} is {value!r}; give the campaign's id from the CleverTap dashboard "
            "(a number such as 1695721550)"
        )
    return int(text)


def recipients_of(to: Any, where: str = "to") -> list[Recipient]:
    """The users of a `to` object, in order; SendError when it names none or is malformed."""
    if not isinstance(to, dict) or not to:
        raise SendError(
            f'{where} must be an object naming users, e.g. {{"identity": ["u-1"]}} '
            "(keys identity, email, objectId)"
        )
    found: list[Recipient] = []
    for key, values in to.items():
        kind = RECIPIENT_KEYS.get(key)
        if kind is None:
            raise SendError(
                f"{where}.{key} is not a way to name users; use identity, email or objectId"
            )
        listed = values if isinstance(values, list) else [values]
        for value in listed:
            if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
                raise SendError(f"{where}.{key} has {value!r}; each user is a non-empty string")
            found.append(Recipient(kind, str(value)))
    if not found:
        raise SendError(f"{where} names no users; give at least one identity, email or objectId")
    if len(found) > MAX_USERS_PER_SEND:
        raise SendError(
            f"{where} names {len(found)} users; send at most {MAX_USERS_PER_SEND} per request"
        )
    return found


def check_key_values(values: Any, where: str = "ExternalTrigger") -> None:
    """SendError unless every value is a string or a list of objects of such values."""
    if not isinstance(values, dict):
        raise SendError(f"{where} must be an object of key-values, got {type(values).__name__}")
    for key, value in values.items():
        field = f"{where}.{key}"
        if isinstance(value, str):
            continue
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            for position, item in enumerate(value):
                check_key_values(item, f"{field}[{position}]")
            continue
        raise SendError(
            f"{field} is {value!r}; CleverTap takes only strings (or lists of objects of "
            'strings) as personalisation values, e.g. "42" rather than 42'
        )


def as_key_values(values: dict[str, Any]) -> dict[str, Any]:
    """Key-values with numbers and booleans written as text (CleverTap wants strings)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            out[key] = str(value)
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            out[key] = [as_key_values(item) for item in value]
        else:
            out[key] = value
    return out


def to_object(recipients: list[Recipient], capitalised: bool = False) -> dict[str, list[str]]:
    """A `to` object listing the recipients by identifier (Identity/Email when capitalised)."""
    names = {"identity": "Identity", "email": "Email"} if capitalised else {}
    out: dict[str, list[str]] = {}
    for recipient in recipients:
        out.setdefault(names.get(recipient.kind, recipient.kind), []).append(recipient.value)
    return out


def check_content(channel: str, content: Any) -> None:
    """SendError unless `content` has what a message on `channel` needs."""
    needs = {
        "push": ("title", "body"),
        "webpush": ("title", "body"),
        "email": ("subject", "body"),
        "sms": ("body",),
        "whatsapp": (),
    }
    if channel not in needs:
        raise SendError(
            f"{channel!r} is not a channel a campaign can target users on; use one of "
            + ", ".join(SEND_CHANNELS)
        )
    if not isinstance(content, dict):
        raise SendError(f"content must be an object, e.g. {{{_example(channel)}}}")
    missing = [key for key in needs[channel] if not content.get(key)]
    if missing:
        raise SendError(
            f"a {channel} message needs content.{' and content.'.join(missing)}, e.g. "
            f"{{{_example(channel)}}}"
        )


def _example(channel: str) -> str:
    return {
        "push": '"title": "Welcome", "body": "Thanks for joining"',
        "webpush": '"title": "Welcome", "body": "Thanks for joining"',
        "email": '"subject": "Welcome", "body": "<p>Thanks for joining</p>"',
        "sms": '"body": "Thanks for joining"',
        "whatsapp": '"template_name": "welcome", "locale": "en"',
    }[channel]


@dataclass(frozen=True)
class TriggerSend:
    """One run's External Trigger send: a campaign, its users, its key-values."""

    campaign_id: int
    recipients: tuple[Recipient, ...]
    key_values: dict[str, Any]

    def entry(self) -> dict[str, Any]:
        """The send as CleverTap's request body (or one item of a bulk request's `d`)."""
        return {
            "to": to_object(list(self.recipients)),
            "campaign_id": self.campaign_id,
            "ExternalTrigger": self.key_values,
        }


def trigger_send(
    campaign_id: Any,
    *,
    identities: list[Any] | None = None,
    emails: list[Any] | None = None,
    object_ids: list[Any] | None = None,
    key_values: dict[str, Any] | None = None,
) -> TriggerSend:
    """A checked send; SendError naming the input to fix (nothing is sent)."""
    to: dict[str, list[Any]] = {}
    for kind, values in (("identity", identities), ("email", emails), ("objectId", object_ids)):
        if values:
            to[kind] = [str(v).strip() for v in values]
    if not to:
        raise SendError("name the users: give identities, emails or object_ids")
    recipients = recipients_of(to, "users")
    for recipient in recipients:
        if recipient.kind == "email" and not is_email(recipient.value):
            raise SendError(f"emails has {recipient.value!r}, which is not an email address")
    if len(set(recipients)) != len(recipients):
        raise SendError("a user is named twice; CleverTap would send them the message twice")
    values = as_key_values(key_values or {})
    check_key_values(values, "key_values")
    return TriggerSend(campaign_id_of(campaign_id), tuple(recipients), values)
