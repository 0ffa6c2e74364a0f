"""Sign-in sessions: a random token in an HttpOnly cookie, its SHA-256 in the `sessions` table.

Each session also has a CSRF token. Pages embed it; the UI's JavaScript sends it back as
the `X-Relayflow-CSRF` header and forms as a `csrf` field, so a cookie alone never
suffices for a request that changes something.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from starlette.requests import Request

from relayflow.store import users as rows
from relayflow.store.database import Database

COOKIE = "relayflow_session"
CSRF_HEADER = "x-relayflow-csrf"
LIFETIME = 14 * 24 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Session:
    user: str
    csrf: str
    expires_at: float

    def csrf_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.csrf.encode())


class Sessions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, user: str) -> tuple[str, Session]:
        """A new session for `user`: the cookie value and the session."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        session = Session(user, secrets.token_urlsafe(24), now + LIFETIME)
        rows.create_session(self.db, _digest(token), user, session.csrf, now, session.expires_at)
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        row = rows.get_session(self.db, _digest(token))
        if row is None or row.expires_at < time.time():
            return None
        return Session(row.user, row.csrf, row.expires_at)

    def from_request(self, request: Request) -> Session | None:
        return self.get(request.cookies.get(COOKIE))

    def end(self, token: str | None) -> None:
        if token:
            rows.delete_session(self.db, _digest(token))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
