"""How many wrong passwords a user name, and an address, may send before waiting.

Failures are remembered for `window` seconds, per user name and per address; once either
has `per_user` / `per_address` of them, sign-in is refused (the right password too) until
the oldest is older than the window. Checked before the password is hashed, so a flood
costs no scrypt work. Kept in memory: each server process counts its own sign-ins, and a
restart forgets them.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_REMEMBERED = 10_000  # user names and addresses; the least recently failed go first


@dataclass(frozen=True)
class Refusal:
    seconds: int  # until the next attempt is allowed
    message: str


class SignInLimit:
    def __init__(
        self,
        per_user: int = 5,
        per_address: int = 20,
        window: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def refusal(self, name: str, address: str | None) -> Refusal | None:
        """Why this attempt may not go ahead now, or None when it may."""
        for key, limit in self._keys(name, address):
            wait = self._wait(key, limit)
            if wait:
                minutes = math.ceil(wait / 60)
                whose = f"user {name!r}" if key[0] == "user" else f"address {address}"
                return Refusal(
                    math.ceil(wait),
                    f"Too many wrong passwords for {whose}: {limit} in"
                    f" {self.window / 60:g} minutes. Try again in {minutes} minute"
                    f"{'s' if minutes != 1 else ''}; until then even the right password is"
                    " refused.",
                )
        return None

    def failed(self, name: str, address: str | None) -> None:
        now = self.clock()
        for key, _limit in self._keys(name, address):
            self._failures.setdefault(key, deque()).append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > MAX_REMEMBERED:
            self._failures.popitem(last=False)

    def succeeded(self, name: str, address: str | None) -> None:
        """The user's own count starts again; the address keeps its failures."""
        self._failures.pop(("user", name), None)

    def _keys(self, name: str, address: str | None) -> list[tuple[tuple[str, str], int]]:
        keys = [(("user", name), self.per_user)]
        if address:
            keys.append((("address", address), self.per_address))
        return keys

    def _wait(self, key: tuple[str, str], limit: int) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        horizon = self.clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) < limit:
            return 0.0
        return times[-limit] + self.window - self.clock()
