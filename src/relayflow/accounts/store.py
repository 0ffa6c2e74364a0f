"""Adding, listing, renaming and removing connected accounts in the `accounts` table.

Fields are checked against the app's `account_fields` (required, choices, defaults), then
the app's `connect` is called once so that a value it cannot use (a malformed URL, say) is
refused when the account is added rather than when a run first needs it. `add_tested` also
makes the app's connection test call first and saves nothing if it fails (the CLI, API and
UI add accounts that way unless told to save untested). Secret fields are encrypted
together as one Fernet token; nothing here returns them except `get`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from relayflow import audit
from relayflow.accounts.crypto import SecretKeyError, Vault
from relayflow.config import Config
from relayflow.sdk import AccountField, App, discover
from relayflow.store import accounts as rows
from relayflow.store.accounts import AccountRow
from relayflow.store.database import Database

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class AccountError(Exception):
    """An account operation that cannot happen; `status` is the HTTP status the API answers."""

    def __init__(self, message: str, *, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


class ConnectionTestFailed(AccountError):
    """The app's connection test refused the fields; nothing was saved."""

    def __init__(self, app: App, reason: str) -> None:
        super().__init__(f"not saved: the {app.title} connection test failed: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class _NewAccount:
    """An account whose fields and name passed every check, not saved yet."""

    app: App
    name: str
    public: dict[str, Any]
    secret: dict[str, Any]
    exists: bool


@dataclass(frozen=True)
class Account:
    """A connected account. `secrets` is empty unless it came from `AccountStore.get`."""

    name: str
    app: str
    fields: dict[str, Any]
    created_at: float
    updated_at: float
    secrets: dict[str, Any] = field(default_factory=dict, repr=False)
    secrets_set: tuple[str, ...] = ()
    secrets_readable: bool = True

    def values(self) -> dict[str, Any]:
        """Public and secret fields together, as the app's `connect` takes them."""
        return {**self.fields, **self.secrets}

    def public(self) -> dict[str, Any]:
        """What the API and `--json` show: fields, and only *whether* each secret is set."""
        return {
            "name": self.name,
            "app": self.app,
            "fields": dict(self.fields),
            "secrets": {name: "set" for name in self.secrets_set},
            "secrets_readable": self.secrets_readable,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class AccountStore:
    def __init__(self, db: Database, config: Config, apps: dict[str, App] | None = None) -> None:
        self.db = db
        self.config = config
        self._apps = apps
        self._vault: Vault | None = None

    @property
    def apps(self) -> dict[str, App]:
        if self._apps is None:
            self._apps = discover().apps
        return self._apps

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            try:
                self._vault = Vault.for_config(self.config)
            except SecretKeyError as exc:
                raise AccountError(str(exc), status=500) from None
        return self._vault

    def app(self, key: str) -> App:
        found = self.apps.get(key)
        if found is None:
            with_accounts = sorted(k for k, a in self.apps.items() if a.account_fields)
            raise AccountError(
                f"there is no app {key!r}; apps with accounts: {', '.join(with_accounts)}",
                status=404,
            )
        if not found.account_fields:
            raise AccountError(f"{found.title} ({key}) needs no account", field="app")
        return found

    # Checking -------------------------------------------------------------------------

    def check_fields(self, app: App, given: dict[str, Any]) -> tuple[dict, dict]:
        """Split `given` into (public, secret) fields, with defaults; AccountError if wrong."""
        known = {f.name: f for f in app.account_fields}
        values: dict[str, Any] = {}
        for raw_key, value in given.items():
            key = raw_key.replace("-", "_")
            if key not in known:
                raise AccountError(
                    f"a {app.title} account has no field {raw_key!r}; its fields are "
                    + ", ".join(known),
                    field=raw_key,
                )
            if isinstance(value, str):
                value = value.strip()
            if value is not None and value != "":
                values[key] = value
        public: dict[str, Any] = {}
        secret: dict[str, Any] = {}
        for spec in app.account_fields:
            value = values.get(spec.name, spec.default)
            if value is None:
                if spec.required:
                    raise AccountError(_missing(app, spec), field=spec.name)
                continue
            if spec.choices and value not in spec.choices:
                raise AccountError(
                    f"{spec.name} {value!r} is not one of {', '.join(spec.choices)}"
                    + (f" ({spec.help})" if spec.help else ""),
                    field=spec.name,
                )
            (secret if spec.secret else public)[spec.name] = value
        if app.connect is not None:
            try:
                app.connect({**public, **secret})
            except (ValueError, TypeError) as exc:
                raise AccountError(str(exc)) from None
        return public, secret

    # Reading --------------------------------------------------------------------------

    def _account(self, row: AccountRow, decrypt: bool) -> Account:
        secrets: dict[str, Any] = {}
        readable = True
        try:
            secrets = self.vault.open(row.sealed, row.name)
        except (SecretKeyError, AccountError):
            if decrypt:
                raise
            readable = False
        return Account(
            name=row.name,
            app=row.app,
            fields=row.fields,
            created_at=row.created_at,
            updated_at=row.updated_at,
            secrets=secrets if decrypt else {},
            secrets_set=tuple(sorted(secrets)),
            secrets_readable=readable,
        )

    def list(self) -> list[Account]:
        """Every account, without secrets (each says which secret fields are set)."""
        return [self._account(row, decrypt=False) for row in rows.list_accounts(self.db)]

    def describe(self, name: str) -> Account:
        """One account without its secrets; AccountError (404) if there is none."""
        return self._account(self._one(name), decrypt=False)

    def get(self, name: str) -> Account:
        """One account with its secrets decrypted (for connecting, never for showing)."""
        try:
            return self._account(self._one(name), decrypt=True)
        except SecretKeyError as exc:
            raise AccountError(str(exc), status=500) from None

    def _one(self, name: str) -> AccountRow:
        found = rows.get_account(self.db, name)
        if found is None:
            raise AccountError(
                f"no account named {name!r}; add it with: relayflow accounts add APP {name} ..."
                " (relayflow accounts list shows the accounts there are)",
                status=404,
            )
        return found

    def updated_at(self, name: str) -> tuple[str, float] | None:
        """(app, updated_at) of an account, or None: a cheap check for a changed account."""
        return rows.account_version(self.db, name)

    def used_by(self, name: str) -> list[str]:
        """Workflows whose current version has a step with `account: name`."""
        current = rows.current_definitions(self.db)
        return [workflow for workflow, definition in current if steps_using(definition, name)]

    # Writing --------------------------------------------------------------------------

    def add(
        self, app_key: str, name: str, given: dict[str, Any], *, replace: bool = False
    ) -> Account:
        """Check and store an account; with `replace`, overwrite one of the same app."""
        return self._save(self._check_new(app_key, name, given, replace))

    async def add_tested(
        self,
        app_key: str,
        name: str,
        given: dict[str, Any],
        *,
        replace: bool = False,
        test: bool = True,
    ) -> tuple[Account, str | None]:
        """Check the account, make the app's connection test call (unless `test` is False
        or the app has none), then store it: (account, what the test said or None).
        ConnectionTestFailed, and nothing stored, when the test fails."""
        new = await asyncio.to_thread(self._check_new, app_key, name, given, replace)
        message = None
        if test and new.app.test_connection is not None:
            try:
                message = await new.app.test_connection({**new.public, **new.secret})
            except Exception as exc:  # noqa: BLE001 - the reason is the answer
                raise ConnectionTestFailed(new.app, str(exc) or type(exc).__name__) from None
        return await asyncio.to_thread(self._save, new), message

    def _check_new(
        self, app_key: str, name: str, given: dict[str, Any], replace: bool
    ) -> _NewAccount:
        _check_name(name)
        app = self.app(app_key)
        public, secret = self.check_fields(app, given)
        existing = rows.get_account(self.db, name)
        if existing and not replace:
            raise AccountError(
                f"an account named {name!r} exists already ({existing.app}); "
                "pass --replace to overwrite it, or choose another name",
                status=409,
            )
        if existing and existing.app != app.key:
            raise AccountError(
                f"account {name!r} is a {existing.app} account, not {app.key}; "
                "remove it first or choose another name",
                status=409,
            )
        return _NewAccount(app, name, public, secret, exists=existing is not None)

    def _save(self, new: _NewAccount) -> Account:
        sealed = self.vault.seal(new.secret)
        rows.save_account(self.db, new.name, new.app.key, new.public, sealed, exists=new.exists)
        action = "account.replace" if new.exists else "account.add"
        audit.record(self.db, action, new.name, app=new.app.key, fields=sorted(new.public))
        return self.describe(new.name)

    def remove(self, name: str) -> Account:
        found = self.describe(name)
        rows.delete_account(self.db, name)
        audit.record(self.db, "account.remove", name, app=found.app)
        return found

    def rename(self, name: str, new_name: str) -> Account:
        _check_name(new_name)
        self.describe(name)
        if new_name != name and rows.get_account(self.db, new_name):
            raise AccountError(
                f"an account named {new_name!r} exists already; choose another name",
                status=409,
            )
        rows.rename_account(self.db, name, new_name)
        audit.record(self.db, "account.rename", name, to=new_name)
        return self.describe(new_name)


def steps_using(value: Any, account: str) -> list[dict[str, Any]]:
    """The steps of a workflow definition (at any depth, e.g. in a branch) using `account`."""
    if isinstance(value, dict):
        if value.get("account") == account and "uses" in value:
            return [value]
        return [step for v in value.values() for step in steps_using(v, account)]
    if isinstance(value, list):
        return [step for v in value for step in steps_using(v, account)]
    return []


def _check_name(name: str) -> None:
    if not NAME.match(name or ""):
        raise AccountError(
            f"account name {name!r} must be letters, digits, - _ or ., starting with a letter"
            " or digit, at most 100 characters, e.g. clevertap-prod",
            field="name",
        )


def _missing(app: App, spec: AccountField) -> str:
    text = f"a {app.title} account needs {spec.name} ({spec.label})"
    return text + (f": {spec.help}" if spec.help else "")


async def test_unsaved(store: AccountStore, app_key: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Make the app's authenticated test call with fields that are not saved yet:
    `{"ok": True, "message"}` or `{"ok": False, "error", "field"?}`."""
    try:
        spec = store.app(app_key)
        public, secret = store.check_fields(spec, fields)
    except AccountError as exc:
        return {"ok": False, "error": exc.message, "field": exc.field}
    if spec.test_connection is None:
        return {"ok": False, "error": f"{spec.title} accounts cannot be tested"}
    try:
        message = await spec.test_connection({**public, **secret})
    except Exception as exc:  # noqa: BLE001 - the reason is the answer
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "message": message}
