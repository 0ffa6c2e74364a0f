"""Integrations, one package per app. Each package may define `APP` and an `actions` package.

Apps are discovered by walking this package: adding an app means adding a folder.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AccountField:
    name: str
    label: str
    secret: bool = False
    required: bool = True
    choices: tuple[str, ...] = ()
    help: str = ""
    default: str | None = None


@dataclass(frozen=True)
class App:
    """An integration: its account fields and how to check and use a connected account."""

    key: str
    title: str
    description: str = ""
    docs: str | None = None
    account_fields: tuple[AccountField, ...] = ()
    # Builds what actions receive as `ctx.account` from the stored fields.
    connect: Callable[[dict[str, Any]], Any] | None = None
    # Makes a real authenticated call; returns a human message or raises with the reason.
    test_connection: Callable[[dict[str, Any]], Awaitable[str]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def discover_apps() -> dict[str, App]:
    found: dict[str, App] = {}
    for info in pkgutil.iter_modules(__path__, __name__ + "."):
        if info.ispkg:
            module = importlib.import_module(info.name)
            app = getattr(module, "APP", None)
            if isinstance(app, App):
                found[app.key] = app
    return found
