"""Each app's advice on how its connected accounts are used (`App.advise`): what
`relayflow doctor` warns about and the accounts page shows under each account."""

from __future__ import annotations

from relayflow.accounts.store import Account, AccountStore, steps_using
from relayflow.sdk import AccountUse
from relayflow.store.accounts import current_definitions


def account_advice(store: AccountStore) -> list[tuple[Account, list[str]]]:
    """Each account with its app's advice lines (accounts without advice are left out)."""
    definitions = current_definitions(store.db)
    found = []
    for account in store.list():
        app = store.apps.get(account.app)
        if app is None or app.advise is None:
            continue
        steps = tuple(
            (workflow, step)
            for workflow, definition in definitions
            for step in steps_using(definition, account.name)
        )
        lines = app.advise(AccountUse(account.name, account.fields, account.secrets_set, steps))
        if lines:
            found.append((account, lines))
    return found
