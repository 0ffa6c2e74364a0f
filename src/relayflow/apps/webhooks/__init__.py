"""Signed webhooks: a secret for an `http` trigger's `verify:` (Standard Webhooks or an HMAC
header), kept encrypted like every account secret instead of in an environment variable.

    trigger:
      http:
        path: github
        verify: {scheme: hmac, account: github-hooks, header: X-Hub-Signature-256,
                 prefix: "sha256="}
"""

from __future__ import annotations

from relayflow.sdk import AccountField, App

APP = App(
    key="webhooks",
    title="Signed Webhooks",
    description="The signing secret of an app relayflow has no source for (GitHub, Svix, …)",
    docs="https://www.standardwebhooks.com/",
    account_fields=(
        AccountField(
            "webhook_secret",
            "Signing secret",
            secret=True,
            help="the secret the sending app signs with (for Standard Webhooks: whsec_…)",
        ),
    ),
)
