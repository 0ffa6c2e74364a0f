"""Get Campaign Report: how a campaign did (sent, viewed, clicked, errors)."""

from __future__ import annotations

from typing import Any

from relayflow.sdk import ActionInputs, StepContext, StepError, action, field


class Inputs(ActionInputs):
    campaign_id: int = field(label="Campaign ID", doc="From Get Campaigns or Create Campaign")


@action(
    "clevertap.get_campaign_report",
    title="Get Campaign Report",
    docs="https://developer.clevertap.com/docs/get-campaign-report-api",
    needs_account=True,
)
async def get_campaign_report(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """A campaign's results; fails (retryably) while the campaign has not completed."""
    try:
        answer = await ctx.account.call(
            "POST", "/1/targets/result.json", body={"id": inputs.campaign_id}
        )
    except StepError as exc:
        if "hasn't been completed" in str(exc):
            exc.retryable = True  # a later retry can find it completed
        raise
    ctx.summary(f"Report of campaign {inputs.campaign_id}")
    return answer
