"""Get User Profile: one profile by identity, email or CleverTap ID."""

from __future__ import annotations

from typing import Any

from relayflow.apps.clevertap.records import fail
from relayflow.sdk import ActionInputs, StepContext, action, field


class Inputs(ActionInputs):
    identity: str | int | None = field(None, label="Identity")
    email: str | None = field(None, label="Email")
    object_id: str | None = field(None, label="CleverTap ID", doc="objectId, e.g. -2ce3cca2…")


@action(
    "clevertap.get_profile",
    title="Get User Profile",
    docs="https://developer.clevertap.com/docs/get-user-profiles-api",
    needs_account=True,
)
async def get_profile(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """Look a profile up; returns {"found": false} when there is none (not an error)."""
    given = {
        key: str(value)
        for key, value in (
            ("identity", inputs.identity),
            ("email", inputs.email),
            ("objectId", inputs.object_id),
        )
        if value not in (None, "")
    }
    if len(given) != 1:
        raise fail("give exactly one of identity, email or object_id")
    ((key, value),) = given.items()
    response = await ctx.account.send("GET", "/1/profile.json", params=given)
    ctx.account.raise_for_status(response, "GET", "/1/profile.json")
    body = response.body if isinstance(response.body, dict) else {}
    if body.get("status") == "success":
        ctx.summary(f"Found the profile with {key} {value}")
        return {"found": True, "profile": body.get("record")}
    if body.get("code") == 404 or "not found" in str(body.get("error", "")).lower():
        ctx.summary(f"No profile with {key} {value}")
        return {"found": False, "profile": None}
    raise fail(f"CleverTap could not look up {key} {value}: {body.get('error') or body}")
