"""Storage: schema, migrations, connections and the grouped-commit writer."""

from relayflow.store.database import Database
from relayflow.store.writer import Batch, Writer

__all__ = ["Batch", "Database", "Writer"]
