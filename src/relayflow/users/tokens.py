"""API tokens beside the installation's own: per user, with a role no higher than the
user's, shown once when created, stored as SHA-256 digests, revocable.

    secret, row = Tokens(db).create("ann", role="viewer", label="grafana")
    Tokens(db).verify(secret)   # -> TokenRow (role capped by ann's role now) or None
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import replace

from relayflow import audit
from relayflow.ids import new_id
from relayflow.store import users as rows
from relayflow.store.database import Database
from relayflow.store.users import TokenRow
from relayflow.users.roles import ROLES, at_least, check_role
from relayflow.users.store import UserError

PREFIX = "rft_"  # so a leaked token is recognisable (secret scanners, logs)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Tokens:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, user: str, role: str | None = None, label: str = "") -> tuple[str, TokenRow]:
        """A new token for `user` (role: the user's own, or a lower one)."""
        own = rows.user_role(self.db, user)
        if own is None:
            raise UserError(f"there is no user {user!r}; add them with relayflow users add")
        try:
            wanted = check_role(role or own)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if not at_least(own, wanted):
            raise UserError(f"{user} is a {own}; their tokens can be {own} or lower, not {wanted}")
        secret = PREFIX + secrets.token_urlsafe(32)
        row = TokenRow(new_id(), user, wanted, label.strip()[:100], time.time(), None)
        rows.insert_token(self.db, row, _digest(secret))
        audit.record(self.db, "token.create", user, token=row.id, role=wanted, label=row.label)
        return secret, row

    def verify(self, secret: str) -> TokenRow | None:
        """The token's row, its role capped by its user's current one; None if unknown,
        revoked, or its user is gone."""
        if not secret.startswith(PREFIX):
            return None
        found = rows.token_by_digest(self.db, _digest(secret))
        if found is None:
            return None
        own = rows.user_role(self.db, found.user)
        if own is None:
            return None
        return found if at_least(own, found.role) else replace(found, role=own)

    def list(self, user: str | None = None) -> list[TokenRow]:
        return rows.list_tokens(self.db, user)

    def get(self, token_id: str) -> TokenRow:
        found = rows.get_token(self.db, token_id)
        if found is None:
            raise UserError(f"there is no token {token_id!r}; relayflow tokens list shows them")
        return found

    def revoke(self, token_id: str) -> TokenRow:
        found = self.get(token_id)
        rows.revoke_token(self.db, token_id)
        audit.record(self.db, "token.revoke", found.user, token=token_id)
        return self.get(token_id)


__all__ = ["ROLES", "TokenRow", "Tokens"]
