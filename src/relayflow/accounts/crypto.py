"""The key that encrypts account secrets: `RELAYFLOW_SECRET_KEY`, or `secret.key` in the home.

The key file is created on first use with mode 0600. Every process that shares a database
must use the same key: on several hosts, set RELAYFLOW_SECRET_KEY on all of them.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from relayflow.config import Config

KEY_ENV = "RELAYFLOW_SECRET_KEY"
KEY_FILE = "secret.key"
_GENERATE = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class SecretKeyError(Exception):
    """The key is malformed, or cannot decrypt what was stored with another key."""


def key_path(config: Config) -> Path:
    return config.home / KEY_FILE


def load_key(config: Config) -> bytes:
    """The Fernet key from the environment, else from the home folder (created if missing)."""
    env = os.environ.get(KEY_ENV, "").strip()
    if env:
        _check(env.encode(), f"${KEY_ENV}")
        return env.encode()
    path = key_path(config)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        # O_EXCL: two processes starting at once must not write two different keys.
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key + b"\n")
    key = path.read_bytes().strip()
    _check(key, str(path))
    return key


def _check(key: bytes, where: str) -> None:
    try:
        Fernet(key)
    except ValueError:
        raise SecretKeyError(
            f"{where} is not a Fernet key (32 url-safe base64-encoded bytes); "
            f"generate one with: {_GENERATE}"
        ) from None


class Vault:
    """Encrypts a dict of secret fields into one token, and back."""

    def __init__(self, key: bytes, where: str = "the secret key") -> None:
        self._fernet = Fernet(key)
        self._where = where

    @classmethod
    def for_config(cls, config: Config) -> Vault:
        where = f"${KEY_ENV}" if os.environ.get(KEY_ENV) else str(key_path(config))
        return cls(load_key(config), where)

    def seal(self, secrets: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def open(self, token: str, account: str) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise SecretKeyError(
                f"the secrets of account {account!r} cannot be decrypted with {self._where}: "
                f"the key is not the one they were stored with. Restore that key (or set "
                f"${KEY_ENV} to it on every host), or add the account again with --replace"
            ) from None
