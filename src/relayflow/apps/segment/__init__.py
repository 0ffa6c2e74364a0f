"""Segment: identify, track and page calls through Segment's Webhooks destination.

Segment signs each delivery with the destination's shared secret: `X-Signature: <hex
HMAC-SHA1 of the body>`. A call's `messageId` stays the same when Segment retries it.
"""

from __future__ import annotations

from relayflow.sdk import AccountField, App

DOCS = "https://segment.com/docs/connections/destinations/catalog/webhooks/"

APP = App(
    key="segment",
    title="Segment",
    description="Identify, track and page calls from Segment's Webhooks destination",
    docs=DOCS,
    account_fields=(
        AccountField(
            "webhook_secret",
            "Shared secret",
            secret=True,
            help="the Shared Secret in the Webhooks destination's settings in Segment",
        ),
    ),
)
