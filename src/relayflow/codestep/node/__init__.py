"""Node.js code steps: Pipedream components (`export default defineComponent({...})`) run by
runner.mjs in processes of their own pool, in the same sandbox as Python steps.

    pool = CodePool(size=2, runtime=NODE, isolation=detect(hidden=[home]))
    modules = await ensure_packages(["lodash@4"], home / "code-envs")  # "" without packages
    result = await pool.run(CodeRequest(source, "wf/step.mjs", ..., runtime="nodejs",
                                        packages=modules))

Node itself comes from the system (Debian's `nodejs`). A process is started as
`sh -c '<move the pipes>' prlimit --as … --nproc … node --max-old-space-size=MB runner.mjs`:
the shell moves the protocol pipes to descriptors 3 and 4 (Node cannot dup2), prlimit sets
the limits that child.py sets itself with setrlimit.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from relayflow.codestep.node.packages import PackagesError, ensure_packages, normalise

RUNNER = Path(__file__).with_name("runner.mjs")
# V8 reserves about 800 MB of address space before running anything: the address-space
# limit is the step's memory limit (also its JavaScript heap limit) plus this.
ADDRESS_SPACE_RESERVE_MB = 1024
# 3 <- the pool's stdin, 4 -> its stdout; 1 (console.log, programs it starts) -> the log pipe.
_MOVE_PIPES = 'exec 3<&0 4>&1 0</dev/null 1>&2; exec "$@"'


class NodeRuntime:
    name = "nodejs"

    def __init__(self, node: str | None = None) -> None:
        self.node = node or os.environ.get("RELAYFLOW_NODE") or shutil.which("node") or "node"
        self._found = False

    def default_program(self) -> str:
        return ""

    def argv(self, program: str, parent: int, memory_mb: int, processes: int) -> list[str]:
        limits = [shutil.which("prlimit") or "/usr/bin/prlimit"]
        node = [self.node]
        if memory_mb > 0:
            limits.append(f"--as={(memory_mb + ADDRESS_SPACE_RESERVE_MB) * 1024 * 1024}")
            node.append(f"--max-old-space-size={memory_mb}")
        if processes > 0:
            limits.append(f"--nproc={processes}")
        runner = [str(RUNNER), str(parent), str(memory_mb), str(processes), program]
        shell = shutil.which("sh") or "/bin/sh"
        return [shell, "-c", _MOVE_PIPES, "relayflow-node", *limits, "--", *node, *runner]

    def read_only(self, program: str) -> list[str]:
        shown = [str(RUNNER.parent), os.path.realpath(self.node)]
        installed = Path(os.path.realpath(self.node)).parent.parent
        if not str(installed).startswith("/usr"):  # e.g. nvm's; its lib/ holds node's own
            shown.append(str(installed))
        if program:
            shown.append(program)
        return shown

    def problem(self) -> str | None:
        # Asked before every step: once node is found, it is not looked for again.
        if self._found:
            return None
        if shutil.which(self.node) is None:
            return (
                f"Node.js code steps need node ({self.node} was not found); install it"
                " (Debian/Ubuntu: apt-get install nodejs) or set RELAYFLOW_NODE"
            )
        if shutil.which("prlimit") is None:
            return "prlimit is missing (Debian/Ubuntu: apt-get install util-linux)"
        self._found = True
        return None


NODE = NodeRuntime()

__all__ = ["NODE", "NodeRuntime", "PackagesError", "ensure_packages", "normalise"]
