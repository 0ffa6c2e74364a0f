"""Send a notification: one message to each Apprise URL (email, chat, webhook)."""

from __future__ import annotations

from relayflow.sdk import ActionInputs, StepContext, action, field, send_notification


class Inputs(ActionInputs):
    to: list[str] = field(
        label="To",
        doc="Apprise URLs, e.g. mailto://user:pass@smtp.example.com?to=ops@example.com,"
        " slack://tokenA/tokenB/tokenC, json://hooks.example.com/path",
        examples=[["json://127.0.0.1:9000/alerts"]],
        secret=True,  # Apprise URLs carry tokens and passwords: masked in the inspector
    )
    title: str = field("", label="Title")
    body: str = field(label="Message")


@action(
    "notify.send",
    title="Send a Notification",
    docs="https://github.com/caronc/apprise/wiki",
)
async def send(ctx: StepContext, inputs: Inputs) -> dict[str, list[str]]:
    """Send the message to every URL; fails naming any URL that did not take it."""
    sent = await send_notification(inputs.to, inputs.title, inputs.body)
    ctx.summary(f"sent to {len(sent)} recipient{'s' if len(sent) != 1 else ''}")
    return {"sent": sent}
