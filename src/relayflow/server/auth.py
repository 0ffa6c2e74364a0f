"""Who may call `/api/v1`: the API token, or a signed-in web UI session.

The token is generated on first start and kept in the home folder with mode 0600. A
session (cookie) is accepted too; for anything but GET/HEAD/OPTIONS it must also send the
session's CSRF token as `X-Relayflow-CSRF`, which the UI's JavaScript does.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from fastapi import HTTPException, Request

from relayflow import audit
from relayflow.store.database import Database


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


def require_token(expected: str, db: Database | None = None):
    """A dependency accepting `Authorization: Bearer <token>`, or (given `db`) a session."""
    sessions = None
    if db is not None:
        from relayflow.users.sessions import CSRF_HEADER, SAFE_METHODS, Sessions

        sessions = Sessions(db)

    def check(request: Request) -> None:
        given = request.headers.get("authorization", "")
        if given and hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            return
        if sessions is not None and not given:
            session = sessions.from_request(request)
            if session is not None:
                if request.method not in SAFE_METHODS and not session.csrf_ok(
                    request.headers.get(CSRF_HEADER)
                ):
                    raise HTTPException(
                        status_code=403,
                        detail="a signed-in request that changes something must send the"
                        " session's CSRF token as X-Relayflow-CSRF (the web UI does)",
                    )
                request.state.user = session.user
                return
        raise HTTPException(
            status_code=401,
            detail="send Authorization: Bearer <token>; the token is in the api-token file"
            " of the relayflow home folder (or sign in to the web UI)",
        )

    return check


async def audit_actor(request: Request) -> None:
    """A dependency: changes this request makes are recorded as its user's, or the API
    token's (async, so the actor it sets is seen by the endpoint and what it calls)."""

    def who() -> str:
        user = getattr(request.state, "user", None)
        if user:
            return f"user {user}"
        if request.headers.get("authorization"):
            return "API token"
        return "web (not signed in)"

    audit.set_actor(who)
