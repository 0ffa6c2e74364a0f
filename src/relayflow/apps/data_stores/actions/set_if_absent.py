"""Set a key only if it has no value: claim a name, process an id once, take a lock."""

from __future__ import annotations

from typing import Any

from relayflow.apps.data_stores import key_field, store_field, stores, ttl_field
from relayflow.sdk import ActionInputs, Duration, StepContext, action, field


class Inputs(ActionInputs):
    store: str = store_field()
    key: str = key_field()
    value: Any = field(True, label="Value", doc="Stored when the key has no value")
    ttl: Duration | None = ttl_field()


@action(
    "data_stores.set_if_absent", aliases=("store.set_if_absent",), title="Set a Record if Absent"
)
async def set_if_absent(ctx: StepContext, inputs: Inputs) -> bool:
    """Set the key only when it has no value; returns true when this step set it.

    E.g. de-duplicate events: set_if_absent(seen, event id), then filter on the result.
    """
    with stores(ctx) as ds:
        created = await ds.set_if_absent(inputs.store, inputs.key, inputs.value, ttl=inputs.ttl)
    ctx.summary(f"{inputs.store}/{inputs.key} " + ("set" if created else "already had a value"))
    return created
