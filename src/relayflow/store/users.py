"""People who sign in, their sessions, and the one-time setup token (`users`, `sessions`,
`settings` tables). Passwords arrive hashed; tokens arrive as their SHA-256 digests."""

from __future__ import annotations

import time
from dataclasses import dataclass

from relayflow.store.database import Database

SETUP_KEY = "ui.setup_token"
SETUP_LOCK = 7270003  # PostgreSQL: one first-user setup at a time


@dataclass(frozen=True)
class UserRow:
    name: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class SessionRow:
    user: str
    csrf: str
    expires_at: float


def count_users(db: Database) -> int:
    row = db.fetchone("SELECT COUNT(*) FROM users")
    return int(row[0]) if row else 0


def list_users(db: Database) -> list[UserRow]:
    rows = db.fetchall("SELECT name, created_at, updated_at FROM users ORDER BY name")
    return [UserRow(*row) for row in rows]


def get_user(db: Database, name: str) -> UserRow | None:
    row = db.fetchone("SELECT name, created_at, updated_at FROM users WHERE name = ?", (name,))
    return UserRow(*row) if row else None


def password_hash(db: Database, name: str) -> tuple[UserRow, str] | None:
    """A user and their password hash (for checking a sign-in), or None."""
    row = db.fetchone(
        "SELECT name, created_at, updated_at, password_hash FROM users WHERE name = ?", (name,)
    )
    return (UserRow(*row[:3]), row[3]) if row else None


def insert_user(db: Database, name: str, hashed: str) -> UserRow:
    now = time.time()
    db.execute(
        "INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (name, hashed, now, now),
    )
    return UserRow(name, now, now)


def change_password(db: Database, name: str, hashed: str) -> None:
    """Set a password and end every session of the user, in one transaction."""
    db.execute_many(
        [
            (
                "UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?",
                (hashed, time.time(), name),
            ),
            ("DELETE FROM sessions WHERE user_name = ?", (name,)),
        ]
    )


def delete_user(db: Database, name: str) -> None:
    db.execute_many(
        [
            ("DELETE FROM sessions WHERE user_name = ?", (name,)),
            ("DELETE FROM users WHERE name = ?", (name,)),
        ]
    )


# The first user ---------------------------------------------------------------------


def save_setup_token(db: Database, digest: str, expires_at: float) -> None:
    """The digest of the one-time setup token (replacing any earlier one)."""
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key)"
        " DO UPDATE SET value = excluded.value",
        (SETUP_KEY, f"{digest}:{expires_at}"),
    )


def setup_token(db: Database) -> tuple[str, float] | None:
    """(digest, expires_at) of the setup token, or None when there is none."""
    row = db.fetchone("SELECT value FROM settings WHERE key = ?", (SETUP_KEY,))
    if row is None:
        return None
    digest, _, expires = row[0].partition(":")
    return digest, float(expires)


def create_first_user(db: Database, digest: str, name: str, hashed: str) -> UserRow | None:
    """Use the setup token `digest` to create the first user, in one transaction: the
    token is consumed with the insert, so of concurrent attempts exactly one succeeds.
    None when the token is not (or no longer) valid or a user exists already."""
    now = time.time()
    with db.transaction(lock=SETUP_LOCK) as cur:
        cur.execute(db.sql("SELECT value FROM settings WHERE key = ?"), (SETUP_KEY,))
        found = cur.fetchone()
        cur.execute(db.sql("SELECT COUNT(*) FROM users"))
        users = cur.fetchone()[0]
        if found is None or users:
            return None
        stored, _, expires = found[0].partition(":")
        if stored != digest or float(expires) <= now:
            return None
        cur.execute(db.sql("DELETE FROM settings WHERE key = ?"), (SETUP_KEY,))
        cur.execute(
            db.sql(
                "INSERT INTO users (name, password_hash, created_at, updated_at)"
                " VALUES (?, ?, ?, ?)"
            ),
            (name, hashed, now, now),
        )
    return UserRow(name, now, now)


# Sessions ---------------------------------------------------------------------------


def create_session(
    db: Database, digest: str, user: str, csrf: str, created_at: float, expires_at: float
) -> None:
    """Store a session; expired sessions are cleared at the same time."""
    db.execute_many(
        [
            ("DELETE FROM sessions WHERE expires_at < ?", (created_at,)),
            (
                "INSERT INTO sessions (id, user_name, csrf, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (digest, user, csrf, created_at, expires_at),
            ),
        ]
    )


def get_session(db: Database, digest: str) -> SessionRow | None:
    """The session with this token digest, if its user still exists (expired included)."""
    row = db.fetchone(
        "SELECT s.user_name, s.csrf, s.expires_at FROM sessions s"
        " JOIN users u ON u.name = s.user_name WHERE s.id = ?",
        (digest,),
    )
    return SessionRow(*row) if row else None


def delete_session(db: Database, digest: str) -> None:
    db.execute("DELETE FROM sessions WHERE id = ?", (digest,))


# Roles and API tokens ----------------------------------------------------------------


def user_role(db: Database, name: str) -> str | None:
    row = db.fetchone("SELECT role FROM users WHERE name = ?", (name,))
    return row[0] if row else None


def set_user_role(db: Database, name: str, role: str) -> None:
    db.execute(
        "UPDATE users SET role = ?, updated_at = ? WHERE name = ?", (role, time.time(), name)
    )


@dataclass(frozen=True)
class TokenRow:
    id: str
    user: str
    role: str
    label: str
    created_at: float
    revoked_at: float | None


_TOKEN_COLUMNS = "id, user_name, role, label, created_at, revoked_at"


def insert_token(db: Database, row: TokenRow, digest: str) -> None:
    db.execute(
        f"INSERT INTO api_tokens ({_TOKEN_COLUMNS}, digest) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (row.id, row.user, row.role, row.label, row.created_at, row.revoked_at, digest),
    )


def token_by_digest(db: Database, digest: str) -> TokenRow | None:
    """A token that is not revoked, with its user's current role capping its own."""
    row = db.fetchone(
        f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE digest = ? AND revoked_at IS NULL",
        (digest,),
    )
    return TokenRow(*row) if row else None


def list_tokens(db: Database, user: str | None = None) -> list[TokenRow]:
    where, params = ("WHERE user_name = ?", (user,)) if user else ("", ())
    rows = db.fetchall(
        f"SELECT {_TOKEN_COLUMNS} FROM api_tokens {where} ORDER BY created_at", params
    )
    return [TokenRow(*row) for row in rows]


def get_token(db: Database, token_id: str) -> TokenRow | None:
    row = db.fetchone(f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?", (token_id,))
    return TokenRow(*row) if row else None


def revoke_token(db: Database, token_id: str) -> None:
    db.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (time.time(), token_id),
    )
