"""Finding apps and what they contribute: one `discover()` for apps, actions and sources.

Apps are the packages under `relayflow.apps` plus any installed package that names one in
the `relayflow.apps` entry-point group. Importing an app runs its `@action` (and
`@source`) declarations, wherever in the app's folder they are: in `__init__.py` for a
one-file app, or in `actions/` and `sources/` modules, which are imported too. An app
that fails to import is logged and left out; the others keep working.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from relayflow.sdk import actions as declared_actions
from relayflow.sdk import sources as declared_sources
from relayflow.sdk.actions import Action
from relayflow.sdk.apps import App
from relayflow.sdk.polling import PollingSource
from relayflow.sdk.sources import Source

log = logging.getLogger(__name__)

ENTRY_POINTS = "relayflow.apps"
_SUBPACKAGES = ("actions", "sources")


@dataclass(frozen=True)
class Registry:
    """Every app of this installation and what each contributes, by key."""

    apps: dict[str, App] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # older action key -> current
    sources: dict[str, Source | PollingSource] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # app module -> why it did not load

    def action(self, key: str) -> Action | None:
        """The action `key` (or an older name of it), or None."""
        return self.actions.get(key) or self.actions.get(self.aliases.get(key, ""))

    def source(self, key: str) -> Source | PollingSource | None:
        return self.sources.get(key)

    def search_actions(self, query: str = "") -> list[Action]:
        """Actions whose key, title, app or description contain every word of `query`."""
        return self._search(self.actions.values(), query)

    def search_sources(self, query: str = "") -> list[Source | PollingSource]:
        """Sources whose key, title, app or description contain every word of `query`."""
        return self._search(self.sources.values(), query)

    def _search(self, items: Iterable[Any], query: str) -> list[Any]:
        words = query.lower().split()
        found = []
        for item in items:
            app = self.apps.get(item.app)
            title = app.title if app else ""
            text = f"{item.key} {item.title} {item.app} {title} {item.description}".lower()
            if all(word in text for word in words):
                found.append(item)
        return sorted(found, key=lambda a: a.key)


_lock = threading.Lock()
_registry: Registry | None = None


def discover() -> Registry:
    """The registry, built on first use by importing every app (later calls are free)."""
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = _build()
    return _registry


BUILTIN = "relayflow.apps"  # the folder of apps that ship with relayflow


def _build() -> Registry:
    builtin = importlib.import_module(BUILTIN)
    broken: dict[str, str] = {}
    apps: dict[str, App] = {}
    for name in _app_modules(builtin):
        try:
            module = _import_app(name)
        except Exception as exc:  # noqa: BLE001 - one broken app must not break every workflow
            log.exception("app %s could not be loaded; its actions are unavailable", name)
            broken[name] = f"{type(exc).__name__}: {exc}"
            continue
        app = getattr(module, "APP", None)
        if isinstance(app, App):
            apps[app.key] = app
    actions = dict(declared_actions.DECLARED)
    sources = dict(declared_sources.DECLARED)
    aliases = {old: act.key for act in actions.values() for old in act.aliases}
    for item in [*actions.values(), *sources.values()]:
        if item.app not in apps:
            log.warning("%s belongs to no app (no APP named %r)", item.key, item.app)
    return Registry(apps=apps, actions=actions, aliases=aliases, sources=sources, broken=broken)


def _app_modules(builtin: ModuleType) -> Iterable[str]:
    for info in pkgutil.iter_modules(builtin.__path__, builtin.__name__ + "."):
        if info.ispkg:
            yield info.name
    for entry in entry_points(group=ENTRY_POINTS):
        yield entry.value


def _import_app(name: str) -> ModuleType:
    module = importlib.import_module(name)
    for sub in _SUBPACKAGES:
        try:
            package = importlib.import_module(f"{name}.{sub}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{name}.{sub}":
                raise
            continue
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
    return module
