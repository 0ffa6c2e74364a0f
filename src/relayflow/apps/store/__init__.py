"""Data stores: keep state between runs and workflows (counters, seen ids, cursors).

The actions reach the installation's stores through `ctx.stores` (a
`relayflow.datastores.DataStores`); what they share lives here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from relayflow.apps import App
from relayflow.engine.actions import field
from relayflow.engine.context import StepContext, StepError

APP = App(
    key="store",
    title="Data Stores",
    description="Key-value stores shared by workflows, with TTLs and atomic counters",
    docs="https://pipedream.com/docs/workflows/data-management/data-stores",
)


def store_field() -> Any:
    return field(
        label="Data store",
        doc="The store's name; it is created on first write",
        examples=["signups"],
    )


def key_field() -> Any:
    return field(label="Key", examples=["{{ steps.trigger.event.body.user_id }}"])


def ttl_field() -> Any:
    return field(
        None,
        label="Expires after",
        doc="A duration such as 30s, 15m, 7d (or seconds); empty: never",
    )


@contextlib.contextmanager
def stores(ctx: StepContext) -> Iterator[Any]:
    """The installation's data stores; a refused operation fails the step, not retried."""
    from relayflow.datastores import DataStoreError

    found = getattr(ctx, "stores", None)
    if found is None:
        raise StepError("data stores are not available to this step", retryable=False)
    try:
        yield found
    except DataStoreError as exc:
        raise StepError(exc.message, retryable=False) from None
