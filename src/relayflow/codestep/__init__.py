"""Python code steps: `def handler(pd): ...`, run in a pool of separate worker processes.

    pool = CodePool(size=2, data_stores=stores.handle)
    result = await pool.run(CodeRequest(source, "wf:step", steps, inputs, context))
    await pool.close()

Steps never run in the server process; each has a time and a memory limit, its output
becomes the step's logs, and its errors come back with the user's own frames only.
"""

from relayflow.codestep.environments import RequirementsError, ensure_environment
from relayflow.codestep.pool import CodePool
from relayflow.codestep.process import WorkerStartError
from relayflow.codestep.request import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    STORE_OPS,
    CodeRequest,
    CodeResult,
    DataStoreHandler,
)

__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT",
    "STORE_OPS",
    "CodePool",
    "CodeRequest",
    "CodeResult",
    "DataStoreHandler",
    "RequirementsError",
    "WorkerStartError",
    "ensure_environment",
]
