"""An app: what an integration is called, the fields of its accounts, and how to use one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AccountField:
    """One field of an app's connected accounts (Account ID, Passcode, Region, …)."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    choices: tuple[str, ...] = ()
    help: str = ""
    default: str | None = None


@dataclass(frozen=True)
class AccountUse:
    """How one connected account is used: what `App.advise` looks at.

    `steps` are the step definitions (as written in the workflow file) of current workflow
    versions that use the account, each with its workflow's name.
    """

    account: str
    fields: dict[str, Any]
    secrets_set: tuple[str, ...]
    steps: tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True)
class App:
    """An integration: its account fields and how to check and use a connected account.

    `connect(fields)` builds what actions receive as `ctx.account` (an API client, say);
    `test_connection(fields)` makes one real authenticated call and returns a message for
    the person connecting, or raises with the reason. `advise(use)` returns what to change
    about how an account is used (`relayflow doctor` and the Accounts page show each line
    as a warning).
    """

    key: str
    title: str
    description: str = ""
    docs: str | None = None
    account_fields: tuple[AccountField, ...] = ()
    connect: Callable[[dict[str, Any]], Any] | None = None
    test_connection: Callable[[dict[str, Any]], Awaitable[str]] | None = None
    advise: Callable[[AccountUse], list[str]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def schema(self) -> dict[str, Any]:
        """The app and its account fields, for the API, the CLI help and the UI form."""
        return {
            "key": self.key,
            "title": self.title,
            "description": self.description,
            "docs": self.docs,
            "account_fields": [
                {
                    "name": f.name,
                    "label": f.label,
                    "secret": f.secret,
                    "required": f.required,
                    "choices": list(f.choices),
                    "default": f.default,
                    "help": f.help,
                }
                for f in self.account_fields
            ],
        }
