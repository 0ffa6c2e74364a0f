"""Password hashing with the standard library's scrypt (no extra dependency).

Hashes are stored as `scrypt$n$r$p$salt$hash` (salt and hash in URL-safe base64), so the
cost can be raised later without breaking existing hashes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

N, R, P = 2**14, 8, 1  # ~16 MiB and ~50 ms per hash on a laptop
MIN_LENGTH = 8


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        found = hashlib.scrypt(
            password.encode(),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=128 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, expected)


def check_new_password(password: str) -> None:
    """Raise ValueError saying what is wrong with a password someone wants to set."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    if password.strip() != password:
        raise ValueError("a password may not start or end with spaces")


@functools.cache
def dummy_hash() -> str:
    """Verifying against this when a user does not exist keeps the answer time the same."""
    return hash_password(os.urandom(12).hex())
