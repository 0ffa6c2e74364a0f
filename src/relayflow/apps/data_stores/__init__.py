"""Data stores: keep state between runs and workflows (counters, seen ids, cursors).

The actions reach the installation's stores through `ctx.stores`; what they share lives
here. Their keys were `store.*` before; workflow files may still use those.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from relayflow.sdk import App, DataStoreAccess, DataStoreError, StepContext, StepError, field

APP = App(
    key="data_stores",
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
def stores(ctx: StepContext) -> Iterator[DataStoreAccess]:
    """The installation's data stores; a refused operation fails the step, not retried."""
    found = ctx.stores
    if found is None:
        raise StepError("data stores are not available to this step", retryable=False)
    try:
        yield found
    except DataStoreError as exc:
        raise StepError(exc.message, retryable=False) from None
