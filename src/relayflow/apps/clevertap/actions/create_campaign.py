"""Create Campaign: push, web push, email, SMS, WhatsApp or webhook, to a segment or to users."""

from __future__ import annotations

from typing import Any, Literal

from relayflow.apps.clevertap.messages import SendError, check_content, recipients_of, to_object
from relayflow.apps.clevertap.records import as_object, fail
from relayflow.sdk import ActionInputs, StepContext, action, field

Users = list[str | int] | str | int | None


class Inputs(ActionInputs):
    name: str = field(label="Campaign name", doc="Shown in the CleverTap dashboard")
    target_mode: Literal["push", "webpush", "email", "sms", "whatsapp", "webhook"] = field(
        label="Target mode", doc="The channel (in-app campaigns are not created by the API)"
    )
    when: dict[str, Any] | str = field(
        "now", label="When", doc='"now", "YYYYMMDD HH:MM", or for push an object'
    )
    where: dict[str, Any] | str | None = field(
        None,
        label="Where",
        doc='Who gets it, e.g. {"event_name": "Charged", "from": 20250101, "to": 20250402}',
    )
    all_users: bool = field(False, label="All users", doc="Target everyone (instead of where)")
    identities: Users = field(None, label="To identities", doc="Send to these users only")
    emails: list[str] | str | None = field(None, label="To emails", doc="Users named by email")
    object_ids: list[str] | str | None = field(
        None, label="To CleverTap IDs", doc="Users named by objectId"
    )
    content: dict[str, Any] | str | None = field(
        None, label="Content", doc="title and body (push), subject and body (email), body (sms)"
    )
    respect_frequency_caps: bool | None = field(None, label="Respect frequency caps")
    estimate_only: bool = field(False, label="Estimate only", doc="Return the reach; create none")
    conversion_goal: dict[str, Any] | str | None = field(None, label="Conversion goal")
    ttl_type: Literal["absolute", "relative"] | None = field(None, label="Time to live type")
    ttl_value: int | None = field(None, label="Time to live value")
    webhook_endpoint_name: str | None = field(None, label="Webhook endpoint name")
    webhook_fields: list[str] | None = field(None, label="Webhook fields")
    webhook_key_value: dict[str, Any] | str | None = field(None, label="Webhook key-values")


@action(
    "clevertap.create_campaign",
    title="Create Campaign",
    docs="https://developer.clevertap.com/docs/create-campaign-api",
    needs_account=True,
)
async def create_campaign(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """Create a campaign; never retried after an unclear failure, so it is never sent twice."""
    to = _users(inputs)
    if sum((inputs.where is not None, inputs.all_users, to is not None)) != 1:
        raise fail("give one of where, all_users: true, or the users (identities, emails, ...)")
    body: dict[str, Any] = {"name": inputs.name, **_optional(inputs)}
    if to is not None:
        path = f"/1/send/{inputs.target_mode}.json"
        try:
            check_content(inputs.target_mode, body.get("content"))
        except SendError as exc:
            raise fail(f"content: {exc}") from None
        body["to"] = to
    else:
        path = "/1/targets/create.json"
        body.update(target_mode=inputs.target_mode, when=_when(inputs.when))
        if inputs.all_users:
            body["segment"] = "all"
        else:
            body["where"] = as_object(inputs.where, "where")
    answer = await ctx.account.call("POST", path, body=body, idempotent=False)
    if inputs.estimate_only:
        ctx.summary(f"Campaign {inputs.name} would reach {answer.get('estimates')}")
    elif to is not None:
        ctx.summary(
            f"Sent {inputs.target_mode} campaign {inputs.name} to {answer.get('processed')}"
        )
    else:
        ctx.summary(f"Created campaign {inputs.name} (id {answer.get('id')})")
    return answer


def _users(inputs: Inputs) -> dict[str, list[str]] | None:
    given = {"identity": inputs.identities, "email": inputs.emails, "objectId": inputs.object_ids}
    to = {k: v if isinstance(v, list) else [v] for k, v in given.items() if v not in (None, "")}
    if not to:
        return None
    if inputs.target_mode == "webhook":
        raise fail("webhook campaigns target by where or all_users, not by listed users")
    try:
        return to_object(recipients_of(to, "users"), capitalised=True)
    except SendError as exc:
        raise fail(str(exc)) from None


def _when(when: dict[str, Any] | str) -> dict[str, Any] | str:
    return as_object(when, "when") if isinstance(when, str) and when[:1] == "{" else when


def _optional(inputs: Inputs) -> dict[str, Any]:
    def obj(value: Any, where: str) -> dict[str, Any] | None:
        return as_object(value, where) if value else None

    ttl = {"ttl_type": inputs.ttl_type, "value": inputs.ttl_value}
    optional = {
        "content": obj(inputs.content, "content"),
        "respect_frequency_caps": inputs.respect_frequency_caps,
        "estimate_only": inputs.estimate_only or None,
        "conversion_goal": obj(inputs.conversion_goal, "conversion_goal"),
        "ttl": ttl if inputs.ttl_type and inputs.ttl_value is not None else None,
        "webhook_endpoint_name": inputs.webhook_endpoint_name,
        "webhook_fields": inputs.webhook_fields,
        "webhook_key_value": obj(inputs.webhook_key_value, "webhook_key_value"),
    }
    return {key: value for key, value in optional.items() if value is not None}
