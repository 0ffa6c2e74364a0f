"""Signed links that resume or cancel a sleeping run (what pd.flow.delay returns).

Anyone holding a link can use it, as in Pipedream, so each is signed with a key only this
installation knows (RELAYFLOW_SECRET_KEY, or a key file) for one run, one step (the delay,
or the code step that calls pd.flow.delay) and one action, until an expiry: the end of
the delay plus RELAYFLOW_LINK_GRACE. The server also refuses a link for a step the run is
not sleeping at (409), so the first delay's link does not resume a later one.

    /hooks/_runs/<run id>/<resume|cancel>?step=<step name>&exp=<unix time>&sig=<hex>
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from relayflow.config import Config

ACTIONS = ("resume", "cancel")


def _key(config: Config) -> bytes:
    env = os.environ.get("RELAYFLOW_SECRET_KEY")
    if env:
        return hashlib.sha256(b"relayflow-run-links:" + env.encode()).digest()
    path: Path = config.home / "links.key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


@dataclass(frozen=True)
class SignedLink:
    """What a link names; `verify` it before changing anything."""

    run_id: str
    step: str
    action: str
    expires: int  # unix time


def signature(config: Config, link: SignedLink) -> str:
    message = f"{link.run_id}:{link.step}:{link.action}:{link.expires}".encode()
    return hmac.new(_key(config), message, hashlib.sha256).hexdigest()[:32]


def link(config: Config, run_id: str, step: str, action: str, until: float) -> str:
    """The URL that applies `action` to the run while it sleeps at `step` (the delay ends
    at `until`; the link works for RELAYFLOW_LINK_GRACE seconds more)."""
    signed = SignedLink(run_id, step, action, math.ceil(until + config.link_grace))
    query = urlencode({"step": step, "exp": signed.expires, "sig": signature(config, signed)})
    return f"{config.public_url}/hooks/_runs/{run_id}/{action}?{query}"


def verify(config: Config, signed: SignedLink, sig: str) -> bool:
    expected = signature(config, signed).encode()
    # bytes: compare_digest refuses str with non-ASCII characters (a 500)
    return signed.action in ACTIONS and hmac.compare_digest(expected, sig.encode())


class Links:
    """The steps' view of run links (`steps.base.Links`)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def url(self, run_id: str, step: str, action: str, until: float) -> str:
        return link(self.config, run_id, step, action, until)
