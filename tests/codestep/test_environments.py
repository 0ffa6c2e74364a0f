"""Requirements environments: installed once into a cached venv, with pip's reason on failure.

These install `six` from the package index that pip is configured with.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from relayflow.codestep import RequirementsError, ensure_environment
from relayflow.codestep.environments import normalise

from .conftest import Pool


def test_requirements_are_installed_once_and_used_by_steps(pool: Pool, env_cache: Path) -> None:
    python = asyncio.run(ensure_environment(["six", " "], env_cache))
    assert Path(python).exists()
    started = time.monotonic()
    again = asyncio.run(ensure_environment(["six"], env_cache))
    assert again == python and time.monotonic() - started < 0.5  # cached
    result = pool.run(
        "import six, httpx\ndef handler(pd):\n    return [six.__version__, six.__file__]\n",
        python=python,
    )
    assert result.error is None, result.error
    version, where = result.return_value
    assert version and where.startswith(str(env_cache))  # the env's copy, beside relayflow's
    plain = pool.run("import sys\ndef handler(pd):\n    return sys.prefix\n")
    assert not plain.return_value.startswith(str(env_cache))


def test_concurrent_requests_for_one_environment_build_it_once(env_cache: Path) -> None:
    async def both() -> list[str]:
        return list(
            await asyncio.gather(
                ensure_environment(["six>=1.0"], env_cache),
                ensure_environment(["six>=1.0"], env_cache),
            )
        )

    first, second = asyncio.run(both())
    assert first == second


def test_a_package_that_cannot_be_installed_is_a_clear_error(env_cache: Path) -> None:
    with pytest.raises(RequirementsError) as caught:
        asyncio.run(ensure_environment(["six==999.0"], env_cache))
    message = str(caught.value)
    assert message.startswith("could not install six==999.0: pip exited with 1:")
    assert "No matching distribution found for six==999.0" in message
    leftovers = [p for p in env_cache.iterdir() if p.is_dir()]
    assert all((p / ".relayflow-ready").exists() for p in leftovers)  # no half-built env


def test_pip_options_and_bad_requirements_are_refused() -> None:
    with pytest.raises(RequirementsError, match="pip options are not accepted"):
        normalise(["--index-url=https://evil.example/simple"])
    with pytest.raises(RequirementsError, match="not valid"):
        normalise(["six=="])
    assert normalise(["six", "# a comment", "", "six", "requests >= 2"]) == ["requests>=2", "six"]


def test_packages_are_installed_from_wheels_only(env_cache: Path, tmp_path, monkeypatch) -> None:
    """A source package's setup code would run in relayflow's process, outside the sandbox."""
    import tarfile

    built = tmp_path / "setup-ran"
    source = tmp_path / "evil-1.0"
    source.mkdir()
    (source / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")
    (source / "setup.py").write_text(
        f"open({str(built)!r}, 'w').write('ran')\n"
        "from setuptools import setup\nsetup(name='evil', version='1.0')\n"
    )
    index = tmp_path / "index"
    index.mkdir()
    with tarfile.open(index / "evil-1.0.tar.gz", "w:gz") as sdist:
        sdist.add(source, arcname="evil-1.0")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(RequirementsError) as caught:
        asyncio.run(ensure_environment(["evil==1.0"], env_cache))
    assert "relayflow installs wheels only" in str(caught.value)
    with pytest.raises(RequirementsError, match="names a URL"):
        normalise([f"evil @ file://{index / 'evil-1.0.tar.gz'}"])
    assert not built.exists()
