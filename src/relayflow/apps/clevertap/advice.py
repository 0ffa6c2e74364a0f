"""What `relayflow doctor` tells about a CleverTap account: sends that cannot be batched."""

from __future__ import annotations

from typing import Any

from relayflow.apps.clevertap.rules import MAX_CONCURRENT_REQUESTS
from relayflow.sdk import AccountUse

SEND = "clevertap.send_message"


def advise(use: AccountUse) -> list[str]:
    """Without the account's token, a send whose key-values differ per run (they come from
    the run's steps) shares no request: each message is one /1 request, at most
    MAX_CONCURRENT_REQUESTS at once per account."""
    if "token" in use.secrets_set:
        return []
    personal = [
        f"{workflow}: {step.get('name', '?')}"
        for workflow, step in use.steps
        if step.get("uses") == SEND and _per_run((step.get("with") or {}).get("key_values"))
    ]
    if not personal:
        return []
    return [
        f"{', '.join(personal)} personalise{'s' if len(personal) == 1 else ''} each message's"
        " key_values, and without a token CleverTap takes only one set of key-values per"
        f" request: every message is its own request, {MAX_CONCURRENT_REQUESTS} at once for"
        f" this account ({MAX_CONCURRENT_REQUESTS * 10} messages/s if each takes 100 ms)."
        " Add the account's"
        f" X-CleverTap-Token (relayflow accounts add clevertap {use.account} --replace, its"
        " fields and --token TOKEN) and up to 1000 messages share one /2 request"
    ]


def _per_run(value: Any) -> bool:
    """Whether `value` (as written) has an expression reading the run's steps."""
    if isinstance(value, str):
        return "{{" in value and "steps." in value
    if isinstance(value, dict):
        return any(_per_run(v) for v in value.values())
    if isinstance(value, list):
        return any(_per_run(v) for v in value)
    return False
