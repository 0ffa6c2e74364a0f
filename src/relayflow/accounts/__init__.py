"""Connected accounts: an app's credentials, stored once, used by any workflow step.

Public fields are kept as JSON; secret fields (passcodes, tokens) are encrypted together
as one Fernet token (DESIGN §10). `AccountStore` adds, lists and removes accounts;
`AccountResolver` turns a step's `account:` into the object its app's actions use.
"""

from relayflow.accounts.store import Account, AccountError, AccountStore

__all__ = ["Account", "AccountError", "AccountStore"]
