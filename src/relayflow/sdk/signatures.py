"""Checking (and making) webhook signatures: HMACs over the exact bytes received, compared
in constant time, refused with a reason that names the header and never the expected
value.

- `check_hmac`: one header holding an HMAC of the body (Shopify, Segment, Typeform, …).
- `check_standard_webhooks` / `sign_standard_webhooks`: the Standard Webhooks spec
  (Svix, Resend, Clerk, …): `webhook-id`, `webhook-timestamp`, `webhook-signature`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Literal

from relayflow.sdk.sources import Delivery, Refused

Algorithm = Literal["sha256", "sha1", "sha512"]
Encoding = Literal["hex", "base64"]
DEFAULT_TOLERANCE = 300.0  # seconds a signed timestamp may be off (Stripe, Standard Webhooks)


def digest(secret: bytes, message: bytes, algorithm: Algorithm = "sha256") -> bytes:
    return hmac.new(secret, message, getattr(hashlib, algorithm)).digest()


def encode(raw: bytes, encoding: Encoding) -> str:
    return raw.hex() if encoding == "hex" else base64.b64encode(raw).decode()


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of two signatures as bytes (any text is allowed in)."""
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def check_hmac(
    delivery: Delivery,
    header: str,
    secret: str,
    *,
    algorithm: Algorithm = "sha256",
    encoding: Encoding = "hex",
    prefix: str = "",
) -> None:
    """Refuse the delivery unless `header` holds `prefix` + the HMAC of its body."""
    given = delivery.require(header)
    if prefix:
        if not given.startswith(prefix):
            raise Refused(f"the {header} header does not start with {prefix!r}")
        given = given[len(prefix) :]
    expected = encode(digest(secret.encode(), delivery.body, algorithm), encoding)
    if not same(given, expected):
        raise Refused(f"the {header} signature does not match the body and the secret")


def check_timestamp(header: str, value: str, tolerance: float, now: float | None) -> float:
    """A signed Unix timestamp, refused when it is not one or is too far from now."""
    try:
        stamp = float(value)
    except ValueError:
        raise Refused(f"the {header} timestamp {value[:40]!r} is not a Unix time") from None
    drift = abs((now or time.time()) - stamp)
    if drift > tolerance:
        raise Refused(
            f"the {header} timestamp is {drift:.0f}s away from now (more than {tolerance:g}s):"
            " a stale or replayed delivery"
        )
    return stamp


# Standard Webhooks (https://www.standardwebhooks.com/) --------------------------------


def standard_secret(secret: str) -> bytes:
    """The key bytes of a Standard Webhooks secret (`whsec_` + base64)."""
    text = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refused(
            "the signing secret is not a Standard Webhooks secret (whsec_ followed by base64)",
            status=500,
        ) from None


def check_standard_webhooks(
    delivery: Delivery, secret: str, tolerance: float = DEFAULT_TOLERANCE
) -> str:
    """Refuse unless one `v1,` signature of `webhook-signature` signs
    `<webhook-id>.<webhook-timestamp>.<body>`; returns the `webhook-id`."""
    msg_id = delivery.require("webhook-id")
    stamp = delivery.require("webhook-timestamp")
    signatures = delivery.require("webhook-signature")
    check_timestamp("webhook-timestamp", stamp, tolerance, delivery.received_at)
    signed = f"{msg_id}.{stamp}.".encode() + delivery.body
    expected = encode(digest(standard_secret(secret), signed), "base64")
    for item in signatures.split():
        version, _, value = item.partition(",")
        if version == "v1" and same(value, expected):
            return msg_id
    raise Refused("no v1 signature in webhook-signature matches the body and the secret")


def sign_standard_webhooks(body: bytes, secret: str, now: float, msg_id: str) -> dict[str, str]:
    stamp = str(int(now))
    signed = f"{msg_id}.{stamp}.".encode() + body
    value = encode(digest(standard_secret(secret), signed), "base64")
    return {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": f"v1,{value}"}
