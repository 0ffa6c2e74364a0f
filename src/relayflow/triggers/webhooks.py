"""Signed deliveries: checking them and turning them into events, before anything is stored.

Two kinds of trigger take signed deliveries: an app's webhook source (`trigger: source:`),
whose function verifies the app's scheme and says what the delivery carries; and an
`http` trigger with `verify:` (Standard Webhooks or one HMAC header) and optionally an
`idempotency_key:`. Either way a delivery that fails a check raises `Refused` (401 with
the reason), and the events come back with the keys that deduplicate them.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from relayflow.expressions import ExpressionError
from relayflow.model.triggers import HttpTrigger, SourceTrigger
from relayflow.sdk import Delivery, Emitted, Received, Refused, SourceContext, StepError
from relayflow.sdk.signatures import check_hmac, check_standard_webhooks


class AccountFields(Protocol):
    def fields(self, name: str, app: str | None = None) -> tuple[dict[str, Any], list[str]]: ...


def receive_from_source(
    compiled: Any, trigger: SourceTrigger, delivery: Delivery, accounts: AccountFields | None
) -> Received:
    """Run the source's function on the delivery, with its inputs and account."""
    source = compiled.source
    fields: dict[str, Any] = {}
    if trigger.account:
        fields = _account(accounts, trigger.account, source.app)
    elif source.needs_account:
        raise Refused(f"the workflow's {source.key} trigger has no account", status=503)
    received = source.receive(
        delivery, SourceContext(compiled.source_inputs, fields, trigger.account)
    )
    return received if isinstance(received, Received) else Received(tuple(received))


def verify_http(trigger: HttpTrigger, delivery: Delivery, accounts: AccountFields | None) -> None:
    """Refuse a delivery whose signature does not match `trigger.verify`."""
    rule = trigger.verify
    if rule is None:
        return
    if rule.secret is not None:
        name = rule.secret.removeprefix("env:")
        secret = os.environ.get(name)
        if not secret:
            raise Refused(
                f"the signing secret is not set: set the environment variable {name}", 503
            )
    else:
        fields = _account(accounts, rule.account or "", None)
        secret = str(fields.get("webhook_secret") or "")
        if not secret:
            raise Refused(f"account {rule.account!r} has no webhook_secret", status=503)
    if rule.scheme == "standard_webhooks":
        check_standard_webhooks(delivery, secret, rule.tolerance)
    else:
        check_hmac(
            delivery,
            rule.header or "",
            secret,
            algorithm=rule.algorithm,
            encoding=rule.encoding,
            prefix=rule.prefix,
        )


def http_event(compiled: Any, event: dict[str, Any]) -> Emitted:
    """An http trigger's event with its idempotency key, if the trigger names one."""
    evaluate = compiled.idempotency_key
    if evaluate is None:
        return Emitted(event)
    try:
        key = evaluate(event)
    except ExpressionError as exc:
        raise Refused(f"trigger.http.idempotency_key: {exc}", status=400) from None
    if key in (None, ""):
        raise Refused("trigger.http.idempotency_key is empty for this request", status=400)
    return Emitted(event, key=str(key))


def _account(accounts: AccountFields | None, name: str, app: str | None) -> dict[str, Any]:
    if accounts is None:
        raise Refused("connected accounts are not available in this process", status=503)
    try:
        return accounts.fields(name, app)[0]
    except StepError as exc:  # a missing or wrong account: the operator's to fix, not the app's
        raise Refused(str(exc), status=503) from None
