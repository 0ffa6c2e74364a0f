"""Actions: typed, declared steps that apps contribute.

An action is an async function `run(ctx, inputs)` whose `inputs` parameter is annotated
with an `ActionInputs` model. The model drives validation, the CLI, the API schema and the
UI form. `@action` declares it; `relayflow.sdk.discover()` finds it when it imports the
app, so a new app is a new folder and nothing else.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Every action declared so far, by key, in the order the decorators ran (see registry.py).
DECLARED: dict[str, Action] = {}


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
    aliases: tuple[str, ...] = ()
    coalesces: bool = False

    def schema(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "description": self.description,
            "app": self.app,
            "docs": self.docs,
            "version": self.version,
            "needs_account": self.needs_account,
            "coalesces": self.coalesces,
            "inputs": self.inputs.model_json_schema(),
        }

    def secret_inputs(self) -> set[str]:
        """Names of the inputs declared `secret=True` (masked wherever inputs are shown)."""
        props = self.inputs.model_json_schema().get("properties", {})
        return {name for name, spec in props.items() if spec.get("secret")}


def action(
    key: str,
    *,
    title: str,
    docs: str | None = None,
    version: str = "0.1.0",
    needs_account: bool = False,
    aliases: tuple[str, ...] = (),
    coalesces: bool = False,
) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Declare an async `run(ctx, inputs)` as the action `key` (`<app>.<name>`).

    `aliases` are older keys that workflow files may still use. `coalesces=True` says the
    action's calls from many runs are batched into few requests (an upload batcher): a
    run waiting in it holds none of its workflow's `concurrency` slots, so the batches can
    grow past that limit (`concurrency` limits user code and calls, not relayflow's
    batching).
    """

    def register(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        hints = typing.get_type_hints(fn)
        inputs = hints.get("inputs")
        if not (inspect.isclass(inputs) and issubclass(inputs, ActionInputs)):
            raise TypeError(f"action {key}: annotate the 'inputs' parameter with an ActionInputs")
        if key in DECLARED:
            raise ValueError(f"action {key} is declared twice")
        DECLARED[key] = Action(
            key=key,
            title=title,
            description=inspect.cleandoc(fn.__doc__ or ""),
            app=key.split(".", 1)[0],
            docs=docs,
            version=version,
            inputs=inputs,
            run=fn,
            needs_account=needs_account,
            aliases=tuple(aliases),
            coalesces=coalesces,
        )
        return fn

    return register
