"""Turning a step's `account:` into what its app's actions get as `ctx.account`.

One object per account per process, so that every run using an account shares its HTTP
connections and its upload batches. The account row is re-checked at most once a second
and the object rebuilt when the account changed (a new passcode, say).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from relayflow.accounts.store import AccountError, AccountStore
from relayflow.config import Config
from relayflow.sdk import App, StepError
from relayflow.store.database import Database

log = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0


@dataclass
class _Connected:
    app: str
    updated_at: float
    value: Any
    secrets: list[str]
    checked_at: float
    values: dict[str, Any]  # the account's fields, secrets included


class AccountResolver:
    """The steps' `Accounts`: `resolve(name, app) -> (account object, secrets to redact)`
    for actions, `fields(name)` for code steps."""

    def __init__(self, db: Database, config: Config, apps: dict[str, App] | None = None) -> None:
        self.store = AccountStore(db, config, apps)
        self._cache: dict[str, _Connected] = {}

    def resolve(self, name: str, app: str) -> tuple[Any, list[str]]:
        connected = self._current(name, app)
        self._belongs(name, connected, app)
        return connected.value, list(connected.secrets)

    def fields(self, name: str, app: str | None = None) -> tuple[dict[str, Any], list[str]]:
        """An account's fields, secrets included (a code step's `$auth`, a source's signing
        secret), and the secrets to redact; `app`, when given, must be the account's app."""
        connected = self._current(name, app or "APP")
        if app is not None:
            self._belongs(name, connected, app)
        return dict(connected.values), list(connected.secrets)

    def _current(self, name: str, app: str) -> _Connected:
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached is not None and now - cached.checked_at < RECHECK_SECONDS:
            return cached
        current = self.store.updated_at(name)
        if current is None:
            self._drop(name)
            raise StepError(
                f"no account named {name!r}; add it on the Accounts page or with:"
                f" relayflow accounts add {app} {name} ...",
                retryable=False,
            )
        if cached is not None and (cached.app, cached.updated_at) == current:
            cached.checked_at = now
            return cached
        connected = self._connect(name, now)
        self._drop(name)
        self._cache[name] = connected
        return connected

    def _connect(self, name: str, now: float) -> _Connected:
        try:
            account = self.store.get(name)
            spec = self.store.apps.get(account.app)
            if spec is None:
                raise StepError(
                    f"account {name!r} is for the app {account.app!r}, which this installation"
                    " does not have",
                    retryable=False,
                )
            values = account.values()
            value = spec.connect(values) if spec.connect is not None else values
        except AccountError as exc:
            raise StepError(exc.message, retryable=False) from None
        except (ValueError, TypeError) as exc:
            raise StepError(f"account {name!r} cannot be used: {exc}", retryable=False) from None
        secret_names = {f.name for f in spec.account_fields if f.secret}
        secrets = [str(v) for k, v in values.items() if k in secret_names and v]
        return _Connected(account.app, account.updated_at, value, secrets, now, values)

    def _belongs(self, name: str, connected: _Connected, app: str) -> None:
        if connected.app != app:
            owner = self.store.apps.get(connected.app)
            title = owner.title if owner else connected.app
            raise StepError(
                f"account {name!r} is a {title} account ({connected.app}), but {app} needs one"
                f" of its own; choose a {app} account or change `uses:`",
                retryable=False,
            )

    def _drop(self, name: str) -> None:
        """Forget an account's object, closing it once the uploads it holds are sent."""
        old = self._cache.pop(name, None)
        close = getattr(old.value, "aclose", None) if old else None
        if close is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(close())
        task.add_done_callback(_log_close_failure)

    async def aclose(self) -> None:
        """Close every account object (e.g. at shutdown)."""
        for connected in self._cache.values():
            close = getattr(connected.value, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        self._cache.clear()


def _log_close_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("closing a replaced account failed: %s", task.exception())
