"""Create Campaign: a push, web push, email or webhook campaign (or only its reach)."""

from __future__ import annotations

from typing import Any, Literal

from relayflow.apps.clevertap.records import as_object, fail
from relayflow.sdk import ActionInputs, StepContext, action, field


class Inputs(ActionInputs):
    name: str = field(label="Campaign name", doc="Shown in the CleverTap dashboard")
    target_mode: Literal["webpush", "push", "email", "webhook"] = field(label="Target mode")
    when: dict[str, Any] | str = field(
        "now", label="When", doc='"now", "YYYYMMDD HH:MM", or for push an object'
    )
    where: dict[str, Any] | str | None = field(
        None,
        label="Where",
        doc='Who gets it, e.g. {"event_name": "Charged", "from": 20250101, "to": 20250402}',
    )
    all_users: bool = field(False, label="All users", doc="Target everyone (instead of where)")
    content: dict[str, Any] | str | None = field(None, label="Content", doc="title, body, …")
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
    if (inputs.where is None) == (not inputs.all_users):
        raise fail("give where (who gets the campaign) or all_users: true, not both or neither")
    when = (
        inputs.when
        if not isinstance(inputs.when, str) or inputs.when[:1] != "{"
        else (as_object(inputs.when, "when"))
    )
    body: dict[str, Any] = {"name": inputs.name, "target_mode": inputs.target_mode, "when": when}
    if inputs.all_users:
        body["segment"] = "all"
    else:
        body["where"] = as_object(inputs.where, "where")
    optional = {
        "content": as_object(inputs.content, "content") if inputs.content else None,
        "respect_frequency_caps": inputs.respect_frequency_caps,
        "estimate_only": inputs.estimate_only or None,
        "conversion_goal": as_object(inputs.conversion_goal, "conversion_goal")
        if inputs.conversion_goal
        else None,
        "ttl": {"ttl_type": inputs.ttl_type, "value": inputs.ttl_value}
        if inputs.ttl_type and inputs.ttl_value is not None
        else None,
        "webhook_endpoint_name": inputs.webhook_endpoint_name,
        "webhook_fields": inputs.webhook_fields,
        "webhook_key_value": as_object(inputs.webhook_key_value, "webhook_key_value")
        if inputs.webhook_key_value
        else None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    answer = await ctx.account.call("POST", "/1/targets/create.json", body=body, idempotent=False)
    if inputs.estimate_only:
        ctx.summary(f"Campaign {inputs.name} would reach {answer.get('estimates')}")
    else:
        ctx.summary(f"Created campaign {inputs.name} (id {answer.get('id')})")
    return answer
