"""Actions: typed, declared steps that apps contribute, found by walking `relayflow.apps`.

An action is an async function `run(ctx, inputs)` whose `inputs` parameter is annotated
with an `ActionInputs` model. The model drives validation, the CLI, the API schema and the
UI form. Registering is a decorator; discovery imports every app package and its
`actions` modules, so a new app is a new folder and nothing else.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)
_REGISTRY: dict[str, Action] = {}
_discovered = False


class ActionInputs(BaseModel):
    """Base of every action's inputs: unknown inputs are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def field(
    default: Any = ...,
    *,
    label: str,
    doc: str | None = None,
    examples: list[Any] | None = None,
    secret: bool = False,
    alias: str | None = None,
) -> Any:
    """Declare one input: its label and help text are what the UI and the CLI show."""
    extra = {"secret": True} if secret else None
    return Field(
        default,
        title=label,
        description=doc,
        examples=examples,
        json_schema_extra=extra,
        alias=alias,
    )


@dataclass(frozen=True)
class Action:
    key: str
    title: str
    description: str
    app: str
    docs: str | None
    version: str
    inputs: type[ActionInputs]
    run: Callable[[Any, Any], Awaitable[Any]]
    needs_account: bool

    def schema(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "description": self.description,
            "app": self.app,
            "docs": self.docs,
            "version": self.version,
            "needs_account": self.needs_account,
            "inputs": self.inputs.model_json_schema(),
        }


def action(
    key: str,
    *,
    title: str,
    docs: str | None = None,
    version: str = "0.1.0",
    needs_account: bool = False,
) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Register an async `run(ctx, inputs)` as the action `key` (`<app>.<name>`)."""

    def register(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        hints = typing.get_type_hints(fn)
        inputs = hints.get("inputs")
        if not (inspect.isclass(inputs) and issubclass(inputs, ActionInputs)):
            raise TypeError(f"action {key}: annotate the 'inputs' parameter with an ActionInputs")
        if key in _REGISTRY:
            raise ValueError(f"action {key} is registered twice")
        _REGISTRY[key] = Action(
            key=key,
            title=title,
            description=inspect.cleandoc(fn.__doc__ or ""),
            app=key.split(".", 1)[0],
            docs=docs,
            version=version,
            inputs=inputs,
            run=fn,
            needs_account=needs_account,
        )
        return fn

    return register


def discover() -> dict[str, Action]:
    """Every registered action, importing the app packages on first use."""
    global _discovered
    if not _discovered:
        import relayflow.apps as apps

        for info in pkgutil.iter_modules(apps.__path__, apps.__name__ + "."):
            if not info.ispkg:
                continue
            try:
                _import_app(info.name)
            except Exception:  # noqa: BLE001 - one broken app must not break every workflow
                log.exception("app %s could not be loaded; its actions are unavailable", info.name)
        _discovered = True
    return dict(_REGISTRY)


def _import_app(name: str) -> None:
    importlib.import_module(name)
    try:
        actions_pkg = importlib.import_module(name + ".actions")
    except ModuleNotFoundError as exc:
        if exc.name != name + ".actions":
            raise
        return
    for sub in pkgutil.iter_modules(actions_pkg.__path__, actions_pkg.__name__ + "."):
        importlib.import_module(sub.name)


def get_action(key: str) -> Action | None:
    return discover().get(key)


def search(query: str) -> list[Action]:
    """Actions whose key, title, app or description contain every word of `query`."""
    words = query.lower().split()
    found = []
    for act in discover().values():
        text = f"{act.key} {act.title} {act.app} {act.description}".lower()
        if all(word in text for word in words):
            found.append(act)
    return sorted(found, key=lambda a: a.key)
