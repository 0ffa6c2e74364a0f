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
from relayflow.users.roles import refusal
from relayflow.users.store import UserStore


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
    """A dependency accepting `Authorization: Bearer <token>` (the installation's own, an
    owner's, or (given `db`) a user's API token), or a session; the request must be one
    the token's or user's role allows (relayflow.users.roles)."""
    sessions = tokens = None
    if db is not None:
        from relayflow.users.sessions import Sessions
        from relayflow.users.tokens import Tokens

        sessions, tokens = Sessions(db), Tokens(db)

    def check(request: Request) -> None:
        role = request.state.role = _authenticated(request)
        reason = refusal(role, request.method, request.url.path)
        if reason:
            raise HTTPException(status_code=403, detail=reason)

    def _authenticated(request: Request) -> str:
        from relayflow.users.sessions import CSRF_HEADER, SAFE_METHODS

        given = request.headers.get("authorization", "")
        if given and hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            return "owner"
        scheme, _, secret = given.partition(" ")
        if tokens is not None and scheme.lower() == "bearer":
            found = tokens.verify(secret.strip())
            if found is not None:
                request.state.user, request.state.token_id = found.user, found.id
                return found.role
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
                return UserStore(db).role(session.user) or "viewer"
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
        token = getattr(request.state, "token_id", None)
        if user and token:
            return f"user {user} (token {token})"
        if user:
            return f"user {user}"
        if request.headers.get("authorization"):
            return "API token"
        return "web (not signed in)"

    audit.set_actor(who)
