"""Each app's advice on how its connected accounts are used (`App.advise`): what
`relayflow doctor` warns about and the accounts page shows under each account."""

from __future__ import annotations

from typing import Any

from relayflow.accounts.store import AccountStore
from relayflow.sdk import AccountUse
from relayflow.store.accounts import current_definitions


def account_advice(store: AccountStore) -> dict[str, list[str]]:
    """Account name -> its app's advice lines (accounts without advice are left out)."""
    definitions = current_definitions(store.db)
    found: dict[str, list[str]] = {}
    for account in store.list():
        app = store.apps.get(account.app)
        if app is None or app.advise is None:
            continue
        steps = tuple(
            (workflow, step)
            for workflow, definition in definitions
            for step in _steps(definition)
            if step.get("account") == account.name
        )
        lines = app.advise(AccountUse(account.name, account.fields, account.secrets_set, steps))
        if lines:
            found[account.name] = lines
    return found


def _steps(value: Any) -> list[dict[str, Any]]:
    """Every step definition in a workflow definition, inside blocks too."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        if "name" in value and ("uses" in value or "account" in value):
            found.append(value)
        for child in value.values():
            found.extend(_steps(child))
    elif isinstance(value, list):
        for child in value:
            found.extend(_steps(child))
    return found
