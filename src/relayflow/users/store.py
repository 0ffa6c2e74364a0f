"""The people who may sign in to the web UI, and the one-time link that creates the first.

users = UserStore(db)
users.add("ann", "correct horse battery")
users.verify("ann", "correct horse battery")   # -> User or None
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass

from relayflow.store.database import Database
from relayflow.users.passwords import check_new_password, dummy_hash, hash_password, verify_password

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
ADMIN = "admin"
ADMIN_PASSWORD_ENV = "RELAYFLOW_ADMIN_PASSWORD"
SETUP_KEY = "ui.setup_token"
SETUP_SECONDS = 24 * 3600


class UserError(Exception):
    """A user operation that cannot happen; the message says why and what to do."""


@dataclass(frozen=True)
class User:
    name: str
    created_at: float
    updated_at: float


class UserStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def count(self) -> int:
        row = self.db.fetchone("SELECT COUNT(*) FROM users")
        return int(row[0]) if row else 0

    def list(self) -> list[User]:
        rows = self.db.fetchall("SELECT name, created_at, updated_at FROM users ORDER BY name")
        return [User(*row) for row in rows]

    def get(self, name: str) -> User | None:
        row = self.db.fetchone(
            "SELECT name, created_at, updated_at FROM users WHERE name = ?", (name,)
        )
        return User(*row) if row else None

    def add(self, name: str, password: str) -> User:
        if not NAME.match(name):
            raise UserError(
                f"{name!r} is not a usable user name; use letters, digits and _ . @ -,"
                " e.g. ann or ann@example.com"
            )
        try:
            check_new_password(password)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if self.get(name) is not None:
            raise UserError(
                f"there is already a user {name!r}; `relayflow users password` changes it"
            )
        now = time.time()
        self.db.execute(
            "INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (name, hash_password(password), now, now),
        )
        return User(name, now, now)

    def set_password(self, name: str, password: str) -> None:
        """Change a password and sign the user out everywhere."""
        if self.get(name) is None:
            raise UserError(f"there is no user {name!r}")
        try:
            check_new_password(password)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self.db.execute_many(
            [
                (
                    "UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?",
                    (hash_password(password), time.time(), name),
                ),
                ("DELETE FROM sessions WHERE user_name = ?", (name,)),
            ]
        )

    def remove(self, name: str) -> None:
        """Remove a user and end their sessions; the last user cannot be removed."""
        if self.get(name) is None:
            raise UserError(f"there is no user {name!r}")
        if self.count() <= 1:
            raise UserError(
                f"{name!r} is the only user; add another before removing it, or nobody can sign in"
            )
        self.db.execute_many(
            [
                ("DELETE FROM sessions WHERE user_name = ?", (name,)),
                ("DELETE FROM users WHERE name = ?", (name,)),
            ]
        )

    def verify(self, name: str, password: str) -> User | None:
        row = self.db.fetchone(
            "SELECT name, created_at, updated_at, password_hash FROM users WHERE name = ?",
            (name,),
        )
        if row is None:
            verify_password(password, dummy_hash())
            return None
        return User(*row[:3]) if verify_password(password, row[3]) else None

    # The first user -----------------------------------------------------------------------

    def ensure_admin_from_env(self) -> User | None:
        """With no users and RELAYFLOW_ADMIN_PASSWORD set, create `admin` with it."""
        password = os.environ.get(ADMIN_PASSWORD_ENV)
        if not password or self.count():
            return None
        try:
            return self.add(ADMIN, password)
        except UserError as exc:
            if self.get(ADMIN) is not None:  # another process created it at the same moment
                return None
            raise UserError(f"{ADMIN_PASSWORD_ENV}: {exc}") from None

    def issue_setup_token(self) -> str:
        """A new one-time token for /setup (valid 24 hours); earlier ones stop working."""
        token = secrets.token_urlsafe(24)
        value = f"{_digest(token)}:{time.time() + SETUP_SECONDS}"
        self.db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key)"
            " DO UPDATE SET value = excluded.value",
            (SETUP_KEY, value),
        )
        return token

    def setup_token_valid(self, token: str) -> bool:
        row = self.db.fetchone("SELECT value FROM settings WHERE key = ?", (SETUP_KEY,))
        if row is None or not token or self.count():
            return False
        digest, _, expires = row[0].partition(":")
        return hmac.compare_digest(digest, _digest(token)) and float(expires) > time.time()

    def complete_setup(self, token: str, name: str, password: str) -> User:
        """Create the first user with the setup token, which then stops working."""
        if not self.setup_token_valid(token):
            raise UserError(
                "this setup link has expired or was already used; restart `relayflow up` for a"
                " new one, or run `relayflow users add NAME`"
            )
        user = self.add(name, password)
        self.db.execute("DELETE FROM settings WHERE key = ?", (SETUP_KEY,))
        return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
