"""Change a key only if it still holds the value you read: safe updates under concurrency."""

from __future__ import annotations

from typing import Any

from relayflow.apps.data_stores import key_field, store_field, stores, ttl_field
from relayflow.sdk import ActionInputs, Duration, StepContext, action, field


class Inputs(ActionInputs):
    store: str = store_field()
    key: str = key_field()
    expected: Any = field(label="Expected value", doc="What the key must hold now (null: none)")
    value: Any = field(label="New value")
    ttl: Duration | None = ttl_field()


@action(
    "data_stores.compare_and_set",
    aliases=("store.compare_and_set",),
    title="Compare and Set a Record",
)
async def compare_and_set(ctx: StepContext, inputs: Inputs) -> bool:
    """Set the key to the new value only while it holds the expected one; true when set."""
    with stores(ctx) as ds:
        done = await ds.compare_and_set(
            inputs.store, inputs.key, inputs.expected, inputs.value, ttl=inputs.ttl
        )
    ctx.summary(f"{inputs.store}/{inputs.key} " + ("updated" if done else "had changed; kept"))
    return done
