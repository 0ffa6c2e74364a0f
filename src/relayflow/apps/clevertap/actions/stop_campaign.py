"""Stop Campaign: stop a scheduled campaign before it is sent."""

from __future__ import annotations

from typing import Any

from relayflow.sdk import ActionInputs, StepContext, action, field


class Inputs(ActionInputs):
    campaign_id: int = field(label="Campaign ID", doc="From Get Campaigns or Create Campaign")


@action(
    "clevertap.stop_campaign",
    title="Stop Campaign",
    docs="https://developer.clevertap.com/docs/stop-campaign-api",
    needs_account=True,
)
async def stop_campaign(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """Stop a scheduled campaign; a campaign already sent cannot be stopped."""
    answer = await ctx.account.call("POST", "/1/targets/stop.json", body={"id": inputs.campaign_id})
    ctx.summary(f"Stopped campaign {inputs.campaign_id}")
    return answer
