"""The API token: generated on first start, kept in the home folder with mode 0600."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from fastapi import HTTPException, Request


def load_or_create_token(path: Path) -> str:
    env = os.environ.get("RELAYFLOW_API_TOKEN")
    if env:
        return env
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def require_token(expected: str):
    def check(request: Request) -> None:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise HTTPException(
                status_code=401,
                detail="send Authorization: Bearer <token>; the token is in the api-token file"
                " of the relayflow home folder",
            )

    return check
