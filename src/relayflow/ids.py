"""Time-ordered identifiers for events and runs (sortable, URL-safe, 26 characters)."""

from __future__ import annotations

import os
import time

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower-case
LENGTH = 26


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(ALPHABET[rem])
    return "".join(reversed(chars))


def new_id() -> str:
    """A ULID-shaped id: 48 bits of milliseconds then 80 random bits, so ids sort by creation."""
    ms = time.time_ns() // 1_000_000
    return _encode(ms, 10) + _encode(int.from_bytes(os.urandom(10), "big"), 16)
