"""What a code-step process runs: its language's program and what it needs to see.

A `Runtime` turns a pool's *program* (Python: the interpreter of a requirements venv; Node.js:
the folder of a `packages:` set, "" for none) into the argv of one process that speaks the
pool's protocol (child.py), and lists the folders a sandbox must show it read-only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol

from relayflow.codestep.sandbox import python_paths

CHILD = Path(__file__).with_name("child.py")


class Runtime(Protocol):
    name: str  # "python", "nodejs": the `runtime:` of the steps it runs

    def default_program(self) -> str:
        """The program of the pool's spares (no requirements, no packages)."""
        ...

    def argv(self, program: str, parent: int, memory_mb: int, processes: int) -> list[str]:
        """The process to start: `parent` 0 in a sandbox, `processes` 0 for no limit."""
        ...

    def read_only(self, program: str) -> list[str]:
        """Folders and files a sandboxed process of `program` must see."""
        ...

    def problem(self) -> str | None:
        """Why this runtime cannot start here, and what to install (None: it can)."""
        ...


class PythonRuntime:
    name = "python"

    def default_program(self) -> str:
        return sys.executable

    def argv(self, program: str, parent: int, memory_mb: int, processes: int) -> list[str]:
        argv = [program, "-I", str(CHILD), str(parent), str(memory_mb)]
        return [*argv, str(processes)] if processes else argv

    def read_only(self, program: str) -> list[str]:
        return python_paths(program)

    def problem(self) -> str | None:
        return None


PYTHON = PythonRuntime()
