"""Return an HTTP response to the webhook caller (trigger.http.respond: from_workflow)."""

from __future__ import annotations

from typing import Any

from relayflow.sdk import ActionInputs, HttpResponse, StepContext, action, field


class Inputs(ActionInputs):
    status: int = field(200, label="Status code")
    headers: dict[str, str] = field({}, label="Headers")
    body: Any = field(None, label="Body", doc="An object or list is sent as JSON")


@action("http.respond", title="Return HTTP Response")
async def respond(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """Answer the HTTP request that started this run; the workflow keeps running after it."""
    delivered = await ctx.respond(HttpResponse(inputs.status, inputs.headers, inputs.body))
    ctx.summary(f"responded {inputs.status}" if delivered else "nobody was waiting for a response")
    return {"status": inputs.status, "delivered": delivered}
