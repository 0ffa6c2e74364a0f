"""Connected accounts in a real SQLite database: checks, encryption, the resolver's cache."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from relayflow.accounts.crypto import KEY_ENV
from relayflow.accounts.resolver import AccountResolver
from relayflow.accounts.store import AccountError, AccountStore
from relayflow.apps.clevertap.client import CleverTap
from relayflow.config import Config
from relayflow.sdk import StepError
from relayflow.store.database import Database

FIELDS = {"account_id": "ACC-1", "passcode": "pass-1234", "endpoint": "http://127.0.0.1:9"}


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("RELAYFLOW_DATABASE_URL", raising=False)
    return Config.load(tmp_path / "home")


@pytest.fixture
def db(config: Config) -> Database:
    database = Database(config.database_url)
    database.upgrade()
    return database


@pytest.fixture
def store(db: Database, config: Config) -> AccountStore:
    return AccountStore(db, config)


def test_add_stores_public_fields_and_one_encrypted_token(store: AccountStore, db) -> None:
    account = store.add("clevertap", "ct-prod", {**FIELDS, "region": "in1"})

    assert account.public()["fields"] == {
        "account_id": "ACC-1",
        "endpoint": "http://127.0.0.1:9",
        "region": "in1",
    }
    assert account.public()["secrets"] == {"passcode": "set"}
    fields, token = db.fetchone("SELECT fields, secrets FROM accounts WHERE name = 'ct-prod'")
    assert "pass-1234" not in fields and "pass-1234" not in token
    assert token.startswith("gAAAA")  # a Fernet token
    assert store.get("ct-prod").secrets == {"passcode": "pass-1234"}


def test_the_key_file_is_created_private_on_first_use(store: AccountStore, config) -> None:
    store.add("clevertap", "ct", FIELDS)
    key_file = config.home / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    Fernet(key_file.read_bytes().strip())  # a usable key


def test_missing_required_field_names_it_and_its_help(store: AccountStore) -> None:
    with pytest.raises(AccountError, match=r"needs passcode \(Passcode\): Settings > Project"):
        store.add("clevertap", "ct", {"account_id": "ACC-1"})


def test_region_must_be_one_of_the_choices(store: AccountStore) -> None:
    with pytest.raises(AccountError, match="region 'eu2' is not one of eu1, in1, sg1"):
        store.add("clevertap", "ct", {**FIELDS, "region": "eu2"})


def test_unknown_field_app_and_name_are_refused_clearly(store: AccountStore) -> None:
    with pytest.raises(AccountError, match="has no field 'api_key'; its fields are account_id"):
        store.add("clevertap", "ct", {**FIELDS, "api_key": "x"})
    with pytest.raises(AccountError, match="there is no app 'hubspot'; apps with accounts:"):
        store.add("hubspot", "hs", {})
    with pytest.raises(AccountError, match="account name 'my account' must be letters"):
        store.add("clevertap", "my account", FIELDS)
    with pytest.raises(AccountError, match="is not an http\\(s\\) URL"):
        store.add("clevertap", "ct", {**FIELDS, "endpoint": "localhost:8790"})


def test_adding_twice_needs_replace(store: AccountStore) -> None:
    store.add("clevertap", "ct", FIELDS)
    with pytest.raises(AccountError, match="exists already") as caught:
        store.add("clevertap", "ct", FIELDS)
    assert caught.value.status == 409
    store.add("clevertap", "ct", {**FIELDS, "passcode": "new-pass"}, replace=True)
    assert store.get("ct").secrets["passcode"] == "new-pass"


def test_rename_and_remove(store: AccountStore) -> None:
    store.add("clevertap", "ct", FIELDS)
    assert store.rename("ct", "ct-eu").name == "ct-eu"
    assert [a.name for a in store.list()] == ["ct-eu"]
    store.remove("ct-eu")
    with pytest.raises(AccountError, match="no account named 'ct-eu'") as caught:
        store.describe("ct-eu")
    assert caught.value.status == 404


def test_secrets_from_another_key_cannot_be_read_and_the_error_says_why(
    store: AccountStore, db, config, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add("clevertap", "ct", FIELDS)
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    other = AccountStore(db, config)
    assert other.list()[0].public()["secrets_readable"] is False
    with pytest.raises(AccountError, match="cannot be decrypted with \\$RELAYFLOW_SECRET_KEY"):
        other.get("ct")


def test_a_malformed_secret_key_says_how_to_make_one(
    store: AccountStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "not-a-key")
    with pytest.raises(AccountError, match="is not a Fernet key.*Fernet.generate_key"):
        store.add("clevertap", "ct", FIELDS)


def test_resolver_gives_one_client_per_account_and_its_secrets(store, db, config) -> None:
    store.add("clevertap", "ct", FIELDS)
    resolver = AccountResolver(db, config)
    client, secrets = resolver.resolve("ct", "clevertap")
    again, _ = resolver.resolve("ct", "clevertap")
    assert isinstance(client, CleverTap) and again is client
    assert secrets == ["pass-1234"]


def test_resolver_reloads_an_account_that_changed(store, db, config, monkeypatch) -> None:
    monkeypatch.setattr("relayflow.accounts.resolver.RECHECK_SECONDS", 0.0)
    store.add("clevertap", "ct", FIELDS)
    resolver = AccountResolver(db, config)
    first, _ = resolver.resolve("ct", "clevertap")
    store.add("clevertap", "ct", {**FIELDS, "passcode": "rotated-pass"}, replace=True)
    second, secrets = resolver.resolve("ct", "clevertap")
    assert second is not first and secrets == ["rotated-pass"]


def test_resolver_refuses_an_account_of_another_app(store, db, config) -> None:
    store.add("clevertap", "ct", FIELDS)
    resolver = AccountResolver(db, config)
    with pytest.raises(StepError, match="'ct' is a CleverTap account \\(clevertap\\), but") as e:
        resolver.resolve("ct", "http")
    assert e.value.retryable is False
    with pytest.raises(StepError, match="no account named 'nope'; add it on the Accounts page"):
        resolver.resolve("nope", "clevertap")


def test_connection_test_reports_the_reason(store: AccountStore) -> None:
    app = store.app("clevertap")
    with pytest.raises(StepError, match="could not reach CleverTap at http://127.0.0.1:9"):
        asyncio.run(app.test_connection(FIELDS))


def test_app_schema_lists_account_fields_without_values(store: AccountStore) -> None:
    schema = store.app("clevertap").schema()
    names = [f["name"] for f in schema["account_fields"]]
    assert names == [
        "account_id", "passcode", "region", "endpoint", "token", "request_limit", "webhook_key"
    ]
    assert json.dumps(schema).count('"secret": true') == 3  # passcode, token, webhook key


def test_accounts_work_the_same_on_sqlite_and_postgresql(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    config = Config(home=tmp_path / "home", database_url=database_url)
    config.home.mkdir()
    database = Database(database_url)
    database.upgrade()
    store = AccountStore(database, config)
    try:
        store.add("clevertap", "ct", FIELDS)
        store.add("clevertap", "ct", {**FIELDS, "region": "sg1"}, replace=True)
        store.rename("ct", "ct-sg")
        assert [(a.name, a.fields["region"]) for a in store.list()] == [("ct-sg", "sg1")]
        assert store.get("ct-sg").secrets == {"passcode": "pass-1234"}
        assert store.updated_at("ct-sg")[0] == "clevertap"
        assert store.used_by("ct-sg") == []
        store.remove("ct-sg")
        assert store.list() == []
    finally:
        database.close()
