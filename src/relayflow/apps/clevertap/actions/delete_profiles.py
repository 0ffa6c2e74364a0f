"""Delete User Profiles: remove profiles by identity or by CleverTap ID, 100 per request."""

from __future__ import annotations

from typing import Any

from relayflow.apps.clevertap.records import fail
from relayflow.sdk import ActionInputs, StepContext, action, field

PER_REQUEST = 100


class Inputs(ActionInputs):
    identities: list[str | int] | str | int | None = field(
        None, label="Identities", doc="One identity or a list of them"
    )
    object_ids: list[str] | str | None = field(
        None, label="CleverTap IDs", doc="One objectId (guid) or a list; instead of identities"
    )


@action(
    "clevertap.delete_profiles",
    title="Delete User Profiles",
    docs="https://developer.clevertap.com/docs/delete-user-profile-api",
    needs_account=True,
)
async def delete_profiles(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """Delete profiles (any number: they are sent 100 per request)."""
    if (inputs.identities is None) == (inputs.object_ids is None):
        raise fail("give identities or object_ids (CleverTap deletes by one kind at a time)")
    key, given = (
        ("identity", inputs.identities)
        if inputs.identities is not None
        else ("guid", inputs.object_ids)
    )
    values = [str(v) for v in (given if isinstance(given, list) else [given]) if v != ""]
    if not values:
        raise fail(f"{'identities' if key == 'identity' else 'object_ids'} is empty")
    for start in range(0, len(values), PER_REQUEST):
        chunk = values[start : start + PER_REQUEST]
        await ctx.account.call("POST", "/1/delete/profiles.json", body={key: chunk})
    ctx.summary(f"Deleted {len(values)} profile{'s' if len(values) != 1 else ''}")
    return {"deleted": len(values), "by": key, "requests": -(-len(values) // PER_REQUEST)}
