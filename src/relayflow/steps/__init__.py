"""Step kinds, one module each: what a step of that kind looks like, how it is checked,
compiled and run (see steps/base.py for the interface).

`Step` is the union of every kind's model: a step is the kind whose key it has (`uses`,
`code` or `code_file`, `filter`, `if`, `switch`, `delay`, `end`, `for_each`, `parallel`),
and exactly one.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BeforeValidator, Discriminator, Tag

from relayflow.steps.action import ActionKind, ActionStep
from relayflow.steps.base import StepKind, StepModel
from relayflow.steps.branches import IfKind, SwitchKind
from relayflow.steps.code import CodeKind
from relayflow.steps.delay import DelayKind
from relayflow.steps.end import EndKind
from relayflow.steps.filter import FilterKind
from relayflow.steps.loop import LoopKind
from relayflow.steps.parallel import ParallelKind

KINDS: tuple[StepKind, ...] = (
    ActionKind(),
    CodeKind(),
    FilterKind(),
    IfKind(),
    SwitchKind(),
    DelayKind(),
    EndKind(),
    LoopKind(),
    ParallelKind(),
)
BY_NAME = {kind.name: kind for kind in KINDS}
_BY_MODEL = {kind.model: kind for kind in KINDS}
_MARKERS = [(marker, kind) for kind in KINDS for marker in kind.markers]
_ALL_MARKERS = ", ".join(m for m, _ in _MARKERS[:-1]) + f" or {_MARKERS[-1][0]}"


def _kinds_given(data: dict[str, Any]) -> list[StepKind]:
    found: list[StepKind] = []
    for marker, kind in _MARKERS:
        if data.get(marker) is not None and kind not in found:
            found.append(kind)
    return found


def _exactly_one_kind(value: Any) -> Any:
    """Before dispatch: a step has one kind, named in a message that lists them all.

    Also accepts definitions stored by earlier versions, where every step carried every
    kind's field as null (or empty): those fields are dropped.
    """
    if not isinstance(value, dict):
        return value
    given = _kinds_given(value)
    if len(given) != 1:
        markers = [m for m, _ in _MARKERS if value.get(m) is not None]
        found = f" (found {', '.join(markers)})" if markers else ""
        raise ValueError(f"a step does exactly one thing: {_ALL_MARKERS}{found}")
    model = given[0].model
    assert model is not None
    known = {f.alias or name for name, f in model.model_fields.items()} | set(model.model_fields)
    return {k: v for k, v in value.items() if k in known or v not in (None, {}, [])}


def _tag(value: Any) -> str | None:
    if isinstance(value, dict):
        given = _kinds_given(value)
        return tag(given[0]) if len(given) == 1 else None
    kind = _BY_MODEL.get(type(value))
    return tag(kind) if kind else None


def tag(kind: StepKind) -> str:
    """How pydantic names the kind in an error's location (never a field name)."""
    return f"{kind.name} step"


Step = Annotated[
    Union[tuple(Annotated[k.model, Tag(tag(k))] for k in KINDS)],  # noqa: UP007
    Discriminator(_tag),
    BeforeValidator(_exactly_one_kind),
]

for _kind in KINDS:
    assert _kind.model is not None
    _kind.model.model_rebuild(_types_namespace={"Step": Step})


def kind_of(step: StepModel) -> StepKind:
    """The kind of a validated step."""
    return _BY_MODEL[type(step)]


def walk(steps: list[Any]) -> list[Any]:
    """Every step, nested ones included, in document order."""
    found: list[Any] = []
    for step in steps:
        found.append(step)
        for _where, branch in kind_of(step).children(step):
            found.extend(walk(branch))
    return found


__all__ = [
    "BY_NAME",
    "KINDS",
    "ActionStep",
    "Step",
    "StepKind",
    "StepModel",
    "kind_of",
    "walk",
]
