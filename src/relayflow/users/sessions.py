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
        self.db.execute_many(
            [
                # Expired sessions are cleared whenever someone signs in.
                ("DELETE FROM sessions WHERE expires_at < ?", (now,)),
                (
                    "INSERT INTO sessions (id, user_name, csrf, created_at, expires_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (_digest(token), user, session.csrf, now, session.expires_at),
                ),
            ]
        )
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        row = self.db.fetchone(
            "SELECT s.user_name, s.csrf, s.expires_at FROM sessions s"
            " JOIN users u ON u.name = s.user_name WHERE s.id = ?",
            (_digest(token),),
        )
        if row is None or row[2] < time.time():
            return None
        return Session(row[0], row[1], row[2])

    def from_request(self, request: Request) -> Session | None:
        return self.get(request.cookies.get(COOKIE))

    def end(self, token: str | None) -> None:
        if token:
            self.db.execute("DELETE FROM sessions WHERE id = ?", (_digest(token),))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
