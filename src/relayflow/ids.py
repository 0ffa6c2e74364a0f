"""Time-ordered identifiers for events and runs (sortable, URL-safe, 26 characters)."""

from __future__ import annotations

import os
import time

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower-case
LENGTH = 26
# Every pair of characters, indexed by the 10 bits they encode: two digits per lookup.
_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]


def new_id() -> str:
    """A ULID-shaped id: 48 bits of milliseconds then 80 random bits, so ids sort by creation."""
    v = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    p = _PAIRS
    # On every webhook twice, so unrolled: 130 bits (2 leading zeros) in 13 pairs.
    return (
        p[v >> 120]
        + p[(v >> 110) & 1023]
        + p[(v >> 100) & 1023]
        + p[(v >> 90) & 1023]
        + p[(v >> 80) & 1023]
        + p[(v >> 70) & 1023]
        + p[(v >> 60) & 1023]
        + p[(v >> 50) & 1023]
        + p[(v >> 40) & 1023]
        + p[(v >> 30) & 1023]
        + p[(v >> 20) & 1023]
        + p[(v >> 10) & 1023]
        + p[v & 1023]
    )
