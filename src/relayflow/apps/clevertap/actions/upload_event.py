"""Upload User Events: record a custom or built-in event (e.g. Charged) for a user."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from relayflow.apps.clevertap.records import as_object, event_record, input_locator
from relayflow.sdk import ActionInputs, StepContext, action, field


class Inputs(ActionInputs):
    identity: str | int | None = field(
        None, label="Identity", doc="The user's unique id in your project"
    )
    object_id: str | None = field(
        None, label="CleverTap ID", doc="objectId of an anonymous app or web user"
    )
    email: str | None = field(
        None, label="Guest email", doc="Names a guest with neither identity nor CleverTap ID"
    )
    event_name: str = field(label="Event name", examples=["Charged", "Signed Up", "Product Viewed"])
    event_data: dict[str, Any] | str = field(
        {},
        label="Event data",
        doc="Event properties. Charged takes Amount, Charged ID and Items (a list of objects), "
        'e.g. {"Amount": 300, "Items": [{"Category": "books", "Quantity": 1}]}',
    )
    ts: datetime | int | float | str | None = field(
        None, label="Timestamp", doc="When it happened (epoch seconds or ISO); default now"
    )
    check_rules: bool = field(
        True,
        label="Check CleverTap's rules first",
        doc="Refuse an event CleverTap would skip before sending it",
    )


@action(
    "clevertap.upload_event",
    title="Upload User Events",
    docs="https://developer.clevertap.com/docs/upload-events-api",
    needs_account=True,
    coalesces=True,
)
async def upload_event(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """Record a custom or built-in event, such as Charged with Items, for one user."""
    data = as_object(inputs.event_data, "event_data")
    record = event_record(
        inputs.identity,
        inputs.event_name,
        data,
        inputs.ts,
        object_id=inputs.object_id,
        email=inputs.email,
    )
    locate = input_locator(ctx.step)
    result = await ctx.account.upload(record, check=inputs.check_rules, locate=locate)
    ctx.summary(f"{record['evtName']} recorded for {record.get('identity') or record['objectId']}")
    return result
