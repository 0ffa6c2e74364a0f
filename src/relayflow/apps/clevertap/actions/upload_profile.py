"""Create or Update User: upsert a user profile with contact fields and any properties."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from relayflow.apps.clevertap.records import as_object, input_locator, profile_record
from relayflow.sdk import ActionInputs, StepContext, action, field


class Inputs(ActionInputs):
    identity: str | int | None = field(
        None,
        label="Identity",
        doc="Your unique id for the user, e.g. user_id; an unknown identity creates a profile",
    )
    object_id: str | None = field(
        None,
        label="CleverTap ID",
        doc="objectId of an anonymous app or web user; with identity, gives it that identity",
    )
    email: str | None = field(
        None, label="Email", doc="Left out when empty; names a guest who has no identity"
    )
    name: str | None = field(None, label="Name")
    phone: str | int | None = field(
        None, label="Phone number", doc="With the country code, e.g. +15555555555"
    )
    properties: dict[str, Any] | str = field(
        {},
        label="Properties",
        doc='Any profile properties, e.g. {"Plan": "pro", "Gender": "F"}; operations '
        '{"$add": [..]}, $remove, $incr, $decr, $delete; ISO date-times and DOB become dates',
    )
    ts: datetime | int | float | str | None = field(
        None, label="Timestamp", doc="When the change happened (epoch or ISO); default now"
    )
    check_rules: bool = field(
        True,
        label="Check CleverTap's rules first",
        doc="Refuse a record CleverTap would skip before sending it (turn off only if "
        "CleverTap accepts what relayflow's rules refuse)",
    )


@action(
    "clevertap.upload_profile",
    title="Create or Update User",
    docs="https://developer.clevertap.com/docs/upload-user-profiles-api",
    needs_account=True,
    coalesces=True,
)
async def upload_profile(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """Create or update a CleverTap user profile: identity, name, email, phone, properties.

    A guest (no identity yet) is named by CleverTap ID, or by email, which then serves as
    identity."""
    record = profile_record(
        inputs.identity,
        object_id=inputs.object_id,
        name=inputs.name,
        email=inputs.email,
        phone=inputs.phone,
        properties=as_object(inputs.properties, "properties"),
        ts=inputs.ts,
    )
    named = {"Name": "name", "Email": "email", "Phone": "phone"}
    locate = input_locator(ctx.step, {k: v for k, v in named.items() if getattr(inputs, v)})
    result = await ctx.account.upload(record, check=inputs.check_rules, locate=locate)
    ctx.summary(f"Profile {record.get('identity') or record['objectId']} created or updated")
    return result
