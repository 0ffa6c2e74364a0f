"""Google Sheets: new rows of a sheet, read with the Sheets API v4 (`values.get`).

Sign-in is a service account's JSON key (the sheet shared with its client_email), from
which relayflow signs a JWT and trades it for an access token at the key's token_uri as
Google documents (https://developers.google.com/identity/protocols/oauth2/service-account),
or an OAuth access token. The API's base URL is an account field, so a stand-in (the
tests') or a proxy can answer instead of Google.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from relayflow.sdk import AccountField, App, PollContext, PollError

API = "https://sheets.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/spreadsheets.readonly"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The audience Google's token endpoint wants, whichever token_uri the request goes to
# (google-auth sends this too).
AUDIENCE = "https://oauth2.googleapis.com/token"

APP = App(
    key="google_sheets",
    title="Google Sheets",
    description="New rows of a Google Sheets spreadsheet",
    docs="https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values/get",
    account_fields=(
        AccountField(
            "service_account_key",
            "Service account key (JSON)",
            secret=True,
            required=False,
            help="The key file's JSON; share the sheet with its client_email",
        ),
        AccountField(
            "access_token", "OAuth access token", secret=True, required=False,
            help="Instead of a key: a token with the spreadsheets.readonly scope",
        ),
        AccountField("api_base", "API base URL", required=False, default=API),
    ),
)  # fmt: skip


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(key: dict[str, Any], now: float, scope: str = SCOPE) -> str:
    """The JWT a service account signs (RS256 with its private key) to ask for a token."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    header = {"alg": "RS256", "typ": "JWT", "kid": key.get("private_key_id")}
    claims = {
        "iss": key["client_email"],
        "scope": scope,
        "aud": AUDIENCE,
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    private = serialization.load_pem_private_key(key["private_key"].encode(), password=None)
    signature = private.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing}.{_b64(signature)}"


def access_token(ctx: PollContext[Any]) -> str:
    """A bearer token for the account: its OAuth token, or one its key is traded for."""
    fields = ctx.account
    if fields.get("access_token"):
        return str(fields["access_token"])
    if not fields.get("service_account_key"):
        raise PollError("the account needs a service_account_key or an access_token")
    try:
        key = json.loads(fields["service_account_key"])
        key["client_email"], key["private_key"], key.setdefault("token_uri", "")
    except (ValueError, KeyError, TypeError) as exc:
        raise PollError(f"the service account key is not a Google key file ({exc})") from None
    import httpx

    from relayflow.sdk import EgressRefused, sync_http_transport

    try:
        with httpx.Client(transport=sync_http_transport(), timeout=30) as client:
            answer = client.post(
                key["token_uri"],
                data={"grant_type": JWT_GRANT, "assertion": assertion(key, time.time())},
            )
    except EgressRefused as exc:
        raise PollError(f"signing in at {key['token_uri']}: {exc}") from None
    except httpx.HTTPError as exc:
        raise PollError(f"signing in at {key['token_uri']} failed: {exc}") from None
    if answer.status_code != 200:
        raise PollError(
            f"Google refused the service account ({answer.status_code}): {answer.text[:200]}"
        )
    return str(answer.json()["access_token"])
