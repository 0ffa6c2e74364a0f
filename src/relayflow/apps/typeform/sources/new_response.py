"""New Response: a submitted form response, with its answers also by field ref."""

from __future__ import annotations

from typing import Any

from relayflow.sdk import (
    Delivery,
    Received,
    Refused,
    SourceContext,
    SourceInputs,
    field,
    webhook_source,
)
from relayflow.sdk.signatures import check_hmac, digest, encode

HEADER = "Typeform-Signature"


class Inputs(SourceInputs):
    form_id: str | None = field(
        None, label="Form", doc="Only responses to this form id; empty: every form"
    )


SAMPLE: dict[str, Any] = {
    "event_id": "01JSAMPLE1001",
    "event_type": "form_response",
    "form_response": {
        "form_id": "lT4Z3j",
        "token": "a3a12ec67a1365927098a606107fac15",
        "submitted_at": "2026-12-03T10:00:00Z",
        "landed_at": "2026-12-03T09:58:40Z",
        "hidden": {"user_id": "u-1001"},
        "definition": {
            "id": "lT4Z3j",
            "title": "Sign up",
            "fields": [
                {"id": "DlXFaesGBpoF", "ref": "name", "type": "short_text", "title": "Name?"},
                {"id": "SMEUb7VJz92Q", "ref": "email", "type": "email", "title": "Email?"},
                {"id": "JwWggjAKtOkA", "ref": "plan", "type": "multiple_choice", "title": "Plan?"},
                {
                    "id": "k6TP9oLGgHjl",
                    "ref": "newsletter",
                    "type": "yes_no",
                    "title": "Newsletter?",
                },
            ],
        },
        "answers": [
            {
                "type": "text",
                "text": "Ada Lovelace",
                "field": {"id": "DlXFaesGBpoF", "type": "short_text", "ref": "name"},
            },
            {
                "type": "email",
                "email": "ada@example.com",
                "field": {"id": "SMEUb7VJz92Q", "type": "email", "ref": "email"},
            },
            {
                "type": "choice",
                "choice": {"label": "Pro"},
                "field": {"id": "JwWggjAKtOkA", "type": "multiple_choice", "ref": "plan"},
            },
            {
                "type": "boolean",
                "boolean": True,
                "field": {"id": "k6TP9oLGgHjl", "type": "yes_no", "ref": "newsletter"},
            },
        ],
    },
}


def answer_value(answer: dict[str, Any]) -> Any:
    """One answer's value, whatever its type (choice: the label; choices: the labels)."""
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") or value.get("other")
    if kind == "choices" and isinstance(value, dict):
        return [*(value.get("labels") or []), *([value["other"]] if value.get("other") else [])]
    return value


def by_ref(response: dict[str, Any]) -> dict[str, Any]:
    """`{field ref: value}` of a response's answers (field id where a field has no ref)."""
    found: dict[str, Any] = {}
    for answer in response.get("answers") or []:
        spec = answer.get("field") or {}
        name = spec.get("ref") or spec.get("id")
        if name:
            found[str(name)] = answer_value(answer)
    return found


def sign(body: bytes, secret: str, now: float) -> dict[str, str]:
    return {HEADER: "sha256=" + encode(digest(secret.encode(), body), "base64")}


def freshen(body: dict[str, Any], headers: dict[str, str], suffix: str) -> tuple[dict, dict]:
    return {**body, "event_id": f"{body['event_id']}-{suffix}"}, headers


@webhook_source(
    "typeform.new_response",
    title="New Response",
    docs="https://www.typeform.com/developers/webhooks/secure-your-webhooks/",
    sample=SAMPLE,
    signer=sign,
    freshen=freshen,
)
def new_response(delivery: Delivery, ctx: SourceContext[Inputs]) -> Received:
    """The delivery as Typeform sends it, plus `answers_by_ref` (`{ref: value}`) so a
    mapping is one path: `steps.trigger.event.answers_by_ref.email`."""
    check_hmac(delivery, HEADER, ctx.secret("webhook_secret"), encoding="base64", prefix="sha256=")
    payload = delivery.json()
    response = payload.get("form_response") if isinstance(payload, dict) else None
    if not isinstance(response, dict):
        raise Refused("the body is not a Typeform webhook (it needs form_response)", status=400)
    form = str(response.get("form_id") or "")
    event = {**payload, "answers_by_ref": by_ref(response)}
    wanted = not ctx.inputs.form_id or form == ctx.inputs.form_id
    return Received.one(event, key=payload.get("event_id"), type=form, wanted=wanted)
