"""Code steps: Python (`def handler(pd): ...`) and Node.js (Pipedream components, node/),
run in pools of separate worker processes, one pool per language.

    pool = CodePool(size=2, data_stores=stores.handle, isolation=detect(hidden=[home]))
    result = await pool.run(CodeRequest(source, "wf:step", steps, inputs, context))
    await pool.close()
    node = CodePool(size=2, runtime=NODE, ...)  # CodeRequest(..., runtime="nodejs")

Steps never run in the server process; each runs in a sandbox that keeps relayflow's
files and other processes out of reach (`detect().problem` says why there is none, and
then steps are refused unless `allow_unisolated=True`). Each has a time, a memory and a
process-count limit, nothing it starts outlives it, its output becomes the step's logs,
and its errors come back with the user's own frames only.
"""

from relayflow.codestep.environments import RequirementsError, ensure_environment
from relayflow.codestep.node import NODE, PackagesError, ensure_packages
from relayflow.codestep.pool import CodePool
from relayflow.codestep.process import WorkerStartError
from relayflow.codestep.request import (
    DEFAULT_MAX_PROCESSES,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    STORE_OPS,
    CodeRequest,
    CodeResult,
    DataStoreHandler,
)
from relayflow.codestep.runtimes import PYTHON, Runtime
from relayflow.codestep.sandbox import UNSAFE_OPT_IN, Isolation, Sandbox, detect

__all__ = [
    "DEFAULT_MAX_PROCESSES",
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT",
    "STORE_OPS",
    "CodePool",
    "CodeRequest",
    "CodeResult",
    "DataStoreHandler",
    "Isolation",
    "NODE",
    "PYTHON",
    "PackagesError",
    "RequirementsError",
    "Runtime",
    "Sandbox",
    "UNSAFE_OPT_IN",
    "WorkerStartError",
    "detect",
    "ensure_environment",
    "ensure_packages",
]
