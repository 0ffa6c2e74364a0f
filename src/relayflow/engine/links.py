"""Signed links that resume or cancel a sleeping run (what pd.flow.delay returns).

Anyone holding a link can use it, as in Pipedream, so each is signed for one run and one
action with a key only this installation knows (RELAYFLOW_SECRET_KEY, or a key file).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

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


def signature(config: Config, run_id: str, action: str) -> str:
    return hmac.new(_key(config), f"{run_id}:{action}".encode(), hashlib.sha256).hexdigest()[:32]


def link(config: Config, run_id: str, action: str) -> str:
    return (
        f"{config.public_url}/hooks/_runs/{run_id}/{action}?sig={signature(config, run_id, action)}"
    )


def verify(config: Config, run_id: str, action: str, sig: str) -> bool:
    expected = signature(config, run_id, action).encode()
    # bytes: compare_digest refuses str with non-ASCII characters (a 500)
    return action in ACTIONS and hmac.compare_digest(expected, sig.encode())


class Links:
    """The steps' view of run links (`steps.base.Links`)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def url(self, run_id: str, action: str) -> str:
        return link(self.config, run_id, action)
