"""Where code steps run: the out-of-process pool, and a cached venv per requirement set.

The code kind (relayflow.steps.code) decides what a step sees; this is the engine's
`steps.base.CodeRunner`, so that the kind never starts processes itself.
"""

from __future__ import annotations

from pathlib import Path

from relayflow.codestep import CodePool, CodeRequest, CodeResult, ensure_environment


class PooledCode:
    """Code steps in `pool`, with `requirements:` installed once into `cache_dir`."""

    def __init__(self, pool: CodePool, cache_dir: Path) -> None:
        self.pool = pool
        self.cache_dir = cache_dir
        self._environments: dict[tuple[str, ...], str] = {}

    async def python_for(self, requirements: list[str]) -> str | None:
        """The interpreter of the venv with `requirements`, built on first use; None for
        the default interpreter."""
        if not requirements:
            return None
        key = tuple(sorted(requirements))
        if key not in self._environments:
            self._environments[key] = await ensure_environment(list(key), self.cache_dir)
        return self._environments[key]

    async def run(self, request: CodeRequest) -> CodeResult:
        return await self.pool.run(request)

    async def close(self) -> None:
        await self.pool.close()
