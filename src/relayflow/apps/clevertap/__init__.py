"""CleverTap: profiles and events (of known users, guests and anonymous users), messages,
campaigns, bulk imports and any API request.

An account is an Account ID, a Passcode and a Region (Settings > Project in the CleverTap
dashboard); `endpoint` replaces the region's host, e.g. to use the local sandbox
(`relayflow sandbox clevertap`) or a proxy.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from relayflow.apps.clevertap.advice import advise
from relayflow.apps.clevertap.client import CleverTap
from relayflow.apps.clevertap.retries import RequestRetries
from relayflow.apps.clevertap.rules import MAX_CONCURRENT_REQUESTS
from relayflow.sdk import AccountField, App

DOCS = "https://developer.clevertap.com/docs/common-api-components"
REGIONS = ("eu1", "in1", "sg1", "us1", "aps3", "mec1")
DEFAULT_REGION = "eu1"


def region_host(region: str) -> str:
    """The API base URL of a CleverTap region, e.g. https://in1.api.clevertap.com."""
    if region not in REGIONS:
        raise ValueError(
            f"region {region!r} is not a CleverTap region; use one of {', '.join(REGIONS)}"
            " (the subdomain of your dashboard, e.g. in1 for in1.dashboard.clevertap.com)"
        )
    return f"https://{region}.api.clevertap.com"


def base_url(fields: dict[str, Any]) -> str:
    """Where the account's requests go: `endpoint` if set, else its region's host."""
    endpoint = fields.get("endpoint")
    if not endpoint:
        return region_host(fields.get("region") or DEFAULT_REGION)
    parts = urlsplit(str(endpoint))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"endpoint {endpoint!r} is not an http(s) URL; give the host only, e.g. "
            "http://127.0.0.1:8790 for the sandbox"
        )
    path = parts.path.rstrip("/")
    for version in ("/1", "/v1"):  # pasted with the API version: the client adds it
        if path.endswith(version):
            path = path[: -len(version)]
    return f"{parts.scheme}://{parts.netloc}{path}"


def request_limit(fields: dict[str, Any]) -> int:
    """How many requests the account may have in flight at once (CleverTap: 15)."""
    raw = fields.get("request_limit")
    if raw is None or str(raw).strip() == "":
        return MAX_CONCURRENT_REQUESTS
    text = str(raw).strip()
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise ValueError(
            f"request_limit {raw!r} is not a number of requests from 1 to 100; CleverTap "
            f"allows {MAX_CONCURRENT_REQUESTS} concurrent requests per account, so leave it "
            "empty unless CleverTap gave your account another limit"
        )
    return int(text)


def connect(fields: dict[str, Any], retry: RequestRetries | None = None) -> CleverTap:
    """The client actions use; cheap, opens no connection until the first request."""
    account_id = str(fields.get("account_id") or "").strip()
    passcode = str(fields.get("passcode") or "").strip()
    if not account_id or not passcode:
        raise ValueError("a CleverTap account needs account_id and passcode")
    url = base_url(fields)
    region = None if fields.get("endpoint") else fields.get("region") or DEFAULT_REGION
    return CleverTap(
        account_id,
        passcode,
        url,
        region=region,
        retry=retry,
        max_in_flight=request_limit(fields),
        token=str(fields.get("token") or "").strip() or None,
    )


async def test_connection(fields: dict[str, Any]) -> str:
    """Make one authenticated read; returns what was checked or raises with the reason."""
    client = connect(fields, retry=RequestRetries(budget=2.0))
    try:
        return await client.check_credentials()
    finally:
        await client.aclose()


APP = App(
    key="clevertap",
    title="CleverTap",
    description="Create and update user profiles, upload events (Charged and custom), send "
    "External Trigger messages, run push, email, SMS, WhatsApp or webhook campaigns, or send "
    "any CleverTap API request. Uploads and messages from concurrent runs are batched.",
    docs=DOCS,
    account_fields=(
        AccountField(
            "account_id",
            "Account ID",
            help="Settings > Project in the CleverTap dashboard, e.g. W9R-486-4W5Z",
        ),
        AccountField(
            "passcode",
            "Passcode",
            secret=True,
            help="Settings > Project > Passcode (https://developer.clevertap.com/docs/"
            "authentication#create-account-passcode)",
        ),
        AccountField(
            "region",
            "Region",
            required=False,
            choices=REGIONS,
            default=DEFAULT_REGION,
            help="the subdomain of your dashboard URL, e.g. in1 for in1.dashboard.clevertap.com",
        ),
        AccountField(
            "endpoint",
            "Endpoint",
            required=False,
            help="replaces the region's host, e.g. http://127.0.0.1:8790 for the sandbox or a "
            "proxy",
        ),
        AccountField(
            "token",
            "Token",
            secret=True,
            required=False,
            help="X-CleverTap-Token, needed to send several External Trigger campaigns in one "
            "request (/2/send/externaltrigger.json); without it each campaign is sent alone",
        ),
        AccountField(
            "request_limit",
            "Concurrent requests",
            required=False,
            help="requests in flight at once across every relayflow process (default 15, "
            "CleverTap's limit per account)",
        ),
        AccountField(
            "webhook_key",
            "Webhook key",
            secret=True,
            required=False,
            help="for the clevertap.webhook trigger: a secret you set on the webhook in CleverTap"
            " (Settings > Channels > Webhooks) as the X-Relayflow-Key header, or as the Basic"
            " auth password",
        ),
    ),
    connect=connect,
    test_connection=test_connection,
    advise=advise,
)
