"""Typeform: form responses, signed with the webhook's secret.

Typeform signs each delivery: `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the
body>` with the secret set on the form's webhook. A response's `event_id` identifies it
across Typeform's retries.
"""

from __future__ import annotations

from relayflow.sdk import AccountField, App

DOCS = "https://www.typeform.com/developers/webhooks/"

APP = App(
    key="typeform",
    title="Typeform",
    description="New form responses, with answers by field ref",
    docs=DOCS,
    account_fields=(
        AccountField(
            "webhook_secret",
            "Webhook secret",
            secret=True,
            help="the Secret you set on the form's webhook (Connect > Webhooks > Edit)",
        ),
    ),
)
