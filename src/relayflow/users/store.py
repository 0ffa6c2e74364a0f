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

from relayflow import audit
from relayflow.store import users as rows
from relayflow.store.database import Database
from relayflow.store.users import UserRow as User
from relayflow.users.passwords import check_new_password, dummy_hash, hash_password, verify_password
from relayflow.users.roles import check_role

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
ADMIN = "admin"
ADMIN_PASSWORD_ENV = "RELAYFLOW_ADMIN_PASSWORD"
SETUP_SECONDS = 24 * 3600


class UserError(Exception):
    """A user operation that cannot happen; the message says why and what to do."""


class UserStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def count(self) -> int:
        return rows.count_users(self.db)

    def list(self) -> list[User]:
        return rows.list_users(self.db)

    def get(self, name: str) -> User | None:
        return rows.get_user(self.db, name)

    def add(self, name: str, password: str, role: str = "owner") -> User:
        self._check_new(name, password)
        self._check_role(role)
        if self.get(name) is not None:
            raise UserError(
                f"there is already a user {name!r}; `relayflow users password` changes it"
            )
        user = rows.insert_user(self.db, name, hash_password(password))
        if role != "owner":
            rows.set_user_role(self.db, name, role)
        audit.record(self.db, "user.add", name, role=role)
        return user

    def role(self, name: str) -> str | None:
        return rows.user_role(self.db, name)

    def set_role(self, name: str, role: str) -> None:
        """Change what a user (and so each of their tokens) may do."""
        if self.get(name) is None:
            raise UserError(f"there is no user {name!r}")
        self._check_role(role)
        if role != "owner" and self.role(name) == "owner" and self._owners() <= 1:
            raise UserError(f"{name!r} is the only owner; make another user owner first")
        rows.set_user_role(self.db, name, role)
        audit.record(self.db, "user.role", name, role=role)

    def _owners(self) -> int:
        return sum(1 for user in self.list() if self.role(user.name) == "owner")

    @staticmethod
    def _check_role(role: str) -> None:
        try:
            check_role(role)
        except ValueError as exc:
            raise UserError(str(exc)) from None

    def set_password(self, name: str, password: str) -> None:
        """Change a password and sign the user out everywhere."""
        if self.get(name) is None:
            raise UserError(f"there is no user {name!r}")
        try:
            check_new_password(password)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        rows.change_password(self.db, name, hash_password(password))
        audit.record(self.db, "user.password", name)

    def remove(self, name: str) -> None:
        """Remove a user and end their sessions; the last user cannot be removed."""
        if self.get(name) is None:
            raise UserError(f"there is no user {name!r}")
        if self.count() <= 1:
            raise UserError(
                f"{name!r} is the only user; add another before removing it, or nobody can sign in"
            )
        if self.role(name) == "owner" and self._owners() <= 1:
            raise UserError(f"{name!r} is the only owner; make another user owner first")
        rows.delete_user(self.db, name)
        audit.record(self.db, "user.remove", name)

    def verify(self, name: str, password: str) -> User | None:
        found = rows.password_hash(self.db, name)
        if found is None:
            verify_password(password, dummy_hash())
            return None
        user, hashed = found
        return user if verify_password(password, hashed) else None

    @staticmethod
    def _check_new(name: str, password: str) -> None:
        if not NAME.match(name):
            raise UserError(
                f"{name!r} is not a usable user name; use letters, digits and _ . @ -,"
                " e.g. ann or ann@example.com"
            )
        try:
            check_new_password(password)
        except ValueError as exc:
            raise UserError(str(exc)) from None

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
        rows.save_setup_token(self.db, _digest(token), time.time() + SETUP_SECONDS)
        return token

    def setup_token_valid(self, token: str) -> bool:
        found = rows.setup_token(self.db)
        if found is None or not token or self.count():
            return False
        digest, expires_at = found
        return hmac.compare_digest(digest, _digest(token)) and expires_at > time.time()

    def complete_setup(self, token: str, name: str, password: str) -> User:
        """Create the first user with the setup token, which then stops working; of
        concurrent attempts with one token, exactly one succeeds."""
        if not self.setup_token_valid(token):
            raise SetupLinkUsed(SETUP_USED)
        self._check_new(name, password)
        user = rows.create_first_user(self.db, _digest(token), name, hash_password(password))
        if user is None:
            raise SetupLinkUsed(SETUP_USED)
        audit.record(self.db, "user.add", name, through="the setup link")
        return user


SETUP_USED = (
    "this setup link has expired or was already used; restart `relayflow up` for a new one,"
    " or run `relayflow users add NAME`"
)


class SetupLinkUsed(UserError):
    """The setup token is expired, used, or lost a race with another setup."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
