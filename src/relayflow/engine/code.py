"""Where code steps run: a process pool per language, and the cached environments of their
`requirements:` (Python venvs) and `packages:` (npm folders).

The code kind (relayflow.steps.code) decides what a step sees; this is the engine's
`steps.base.CodeRunner`, so that the kind never starts processes itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from relayflow.codestep import CodePool, CodeRequest, CodeResult, ensure_environment
from relayflow.codestep.node import ensure_packages


class PooledCode:
    """Code steps in `pool` (Python) and `node_pool` (Node.js), with `requirements:` and
    `packages:` installed once into `cache_dir`. The Node.js pool starts no process until
    its first step."""

    def __init__(self, pool: CodePool, cache_dir: Path, node_pool: CodePool | None = None) -> None:
        self.pool = pool
        self.node_pool = node_pool
        self.cache_dir = cache_dir
        self._environments: dict[tuple[str, ...], str] = {}
        self._packages: dict[tuple[str, ...], str] = {}

    async def python_for(self, requirements: list[str]) -> str | None:
        """The interpreter of the venv with `requirements`, built on first use; None for
        the default interpreter."""
        return await self._cached(self._environments, requirements, ensure_environment)

    async def node_modules_for(self, packages: list[str]) -> str | None:
        """The folder holding `packages`' node_modules, installed on first use; None for none."""
        return await self._cached(self._packages, packages, ensure_packages)

    async def _cached(
        self,
        built: dict[tuple[str, ...], str],
        wanted: list[str],
        build: Callable[[list[str], Path], Awaitable[str]],
    ) -> str | None:
        if not wanted:
            return None
        key = tuple(sorted(wanted))
        if key not in built:
            built[key] = await build(list(key), self.cache_dir)
        return built[key] or None

    async def run(self, request: CodeRequest) -> CodeResult:
        if request.runtime == "nodejs" and self.node_pool is not None:
            return await self.node_pool.run(request)
        return await self.pool.run(request)

    async def close(self) -> None:
        await self.pool.close()
        if self.node_pool is not None:
            await self.node_pool.close()
