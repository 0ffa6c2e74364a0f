"""Data stores: named key-value stores shared across workflows, with TTLs and atomic
operations (incr, set_if_absent, compare_and_set), kept in the platform's database.

    stores = DataStores(db, writer)
    await stores.incr("signups", "2026-11-29")

Reached from code steps (`pd.inputs["store"]`), actions (`store.get`, `store.incr`, …),
the CLI (`relayflow stores …`) and the API (`/api/v1/stores`).
"""

from relayflow.datastores.store import DataStoreError, DataStores, Entry, StoreSummary

__all__ = ["DataStoreError", "DataStores", "Entry", "StoreSummary"]
