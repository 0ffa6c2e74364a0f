"""Get Campaigns: the campaigns created between two days."""

from __future__ import annotations

from datetime import date
from typing import Any

from relayflow.apps.clevertap.records import yyyymmdd
from relayflow.sdk import ActionInputs, StepContext, action, field


class Inputs(ActionInputs):
    from_: int | str | date = field(label="From", alias="from", doc="First day, YYYYMMDD")
    to: int | str | date = field(label="To", doc="Last day, YYYYMMDD, e.g. 20250131")


@action(
    "clevertap.get_campaigns",
    title="Get Campaigns",
    docs="https://developer.clevertap.com/docs/get-campaigns-api",
    needs_account=True,
)
async def get_campaigns(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """List campaigns (targets) with their ids, names and status."""
    body = {"from": yyyymmdd(inputs.from_, "from"), "to": yyyymmdd(inputs.to, "to")}
    answer = await ctx.account.call("POST", "/1/targets/list.json", body=body)
    targets = answer.get("targets") or []
    ctx.summary(f"{len(targets)} campaign{'s' if len(targets) != 1 else ''} found")
    return answer
