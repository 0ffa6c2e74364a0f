"""Send Message: trigger an External Trigger campaign for users, with personalisation."""

from __future__ import annotations

from typing import Any

from relayflow.apps.clevertap.messages import SendError, trigger_send
from relayflow.apps.clevertap.records import as_object, fail
from relayflow.sdk import ActionInputs, StepContext, StepError, action, field

Users = list[str | int] | str | int | None


class Inputs(ActionInputs):
    campaign_id: int | str = field(
        label="Campaign ID",
        doc="The External Trigger campaign's id (CleverTap dashboard: the campaign's page)",
        examples=[1695721550],
    )
    identities: Users = field(None, label="Identities", doc="One identity or a list of them")
    emails: list[str] | str | None = field(
        None, label="Emails", doc="Users named by email, e.g. a guest checkout's address"
    )
    object_ids: list[str] | str | None = field(
        None, label="CleverTap IDs", doc="Users named by objectId (anonymous app or web users)"
    )
    key_values: dict[str, Any] | str = field(
        {},
        label="Personalisation",
        doc='Fills {{ExternalTrigger.<key>}} in the message, e.g. {"Name": "Ada"}; '
        "numbers become text (CleverTap takes strings)",
    )
    allow_partial: bool = field(
        False, label="Allow partial", doc="Succeed when some users were not sent to"
    )


@action(
    "clevertap.send_message",
    title="Send Message (External Trigger)",
    docs="https://developer.clevertap.com/docs/external-trigger-api",
    needs_account=True,
    coalesces=True,
)
async def send_message(ctx: StepContext, inputs: Inputs) -> dict[str, Any]:
    """Send a welcome, thank-you or re-engagement message built in CleverTap to users."""
    try:
        send = trigger_send(
            inputs.campaign_id,
            identities=_listed(inputs.identities),
            emails=_listed(inputs.emails),
            object_ids=_listed(inputs.object_ids),
            key_values=as_object(inputs.key_values, "key_values"),
        )
    except SendError as exc:
        raise fail(f"steps.{ctx.step}.with: {exc}") from None
    result = await ctx.account.send_message(send)
    ctx.summary(f"Campaign {send.campaign_id} sent to {result['sent']} of {len(result['users'])}")
    missed = [user for user in result["users"] if user["status"] != "sent"]
    if missed and not (inputs.allow_partial and result["sent"]):
        raise StepError(
            f"CleverTap did not send campaign {send.campaign_id} to {len(missed)} of "
            f"{len(result['users'])} users: {_describe(missed[0])}"
            + ("" if inputs.allow_partial else " (allow_partial: true accepts partial sends)"),
            details=result,
            retryable=False,
        )
    return result


def _listed(value: Any) -> list[Any] | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, list) else [value]


def _describe(user: dict[str, Any]) -> str:
    who = next((f"{k} {v!r}" for k, v in user.items() if k not in ("status", "code", "error")), "")
    return f"{who}: {user.get('error') or 'not sent'}"
