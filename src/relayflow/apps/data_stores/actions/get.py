"""Get a value from a data store, or a default (optionally saved) when the key has none."""

from __future__ import annotations

from typing import Any

from relayflow.apps.data_stores import key_field, store_field, stores
from relayflow.sdk import ActionInputs, StepContext, action, field


class Inputs(ActionInputs):
    store: str = store_field()
    key: str = key_field()
    default: Any = field(None, label="Default", doc="Returned when the key has no value")
    save_default: bool = field(
        False, label="Save the default", doc="Also store the default when the key has no value"
    )


@action(
    "data_stores.get",
    aliases=("store.get",),
    title="Get Record",
    docs="https://pipedream.com/docs/workflows/data-management/data-stores",
)
async def get(ctx: StepContext, inputs: Inputs) -> Any:
    """Return the key's value, or the default when it has none (or it expired)."""
    with stores(ctx) as ds:
        if inputs.save_default:
            created = await ds.set_if_absent(inputs.store, inputs.key, inputs.default)
            if created:
                ctx.summary(f"{inputs.store}/{inputs.key} was empty; saved the default")
                return inputs.default
        found, value = await ds.call("lookup", inputs.store, key=inputs.key)
    ctx.summary(f"{inputs.store}/{inputs.key} " + ("found" if found else "has no value"))
    return value if found else inputs.default
