"""Requirements environments: a workflow's `requirements:`, installed once and cached.

Each distinct set of requirements gets a virtual environment under the cache folder,
named by a hash of the sorted requirements and the interpreter. It is created without
pip (pip runs from relayflow's own environment with `--python`), and it sees relayflow's
packages behind its own: a `.pth` file appends relayflow's site-packages to its path, so
a step gets the usual packages plus the workflow's, and the workflow's versions win.
Building takes a file lock, so processes sharing a cache folder build each one once.

Packages are installed from wheels only: pip runs in relayflow's process, outside the
code-step sandbox, and building a package from source would run that package's setup code
there. A wheel's code first runs in a step, inside the sandbox.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import re
import shutil
import site
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from relayflow.codestep.process import PASSED_ENV

READY = ".relayflow-ready"
INSTALL_TIMEOUT = 900.0
_SIMPLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-\[\], ]*([<>=!~; ][^@]*)?$")


class RequirementsError(Exception):
    """The requirements are invalid, or pip could not install them; the message says which."""


def normalise(requirements: list[str]) -> list[str]:
    """Requirements as pip will get them: validated, de-duplicated, sorted."""
    return listed(requirements, _canonical)


def listed(entries: list[str], canonical: Callable[[str], str]) -> list[str]:
    """`entries` (blank ones and comments left out) as `canonical` gives them, sorted, once."""
    found = {canonical(text) for raw in entries if (text := str(raw).strip())}
    return sorted(found - {""})


def _canonical(text: str) -> str:
    if text.startswith("#"):
        return ""
    if text.startswith("-") or "\n" in text or "\r" in text:
        raise RequirementsError(
            f"requirement {text!r} is not a package; give one package per entry,"
            " e.g. phonenumbers or requests>=2.31 (pip options are not accepted)"
        )
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        if not _SIMPLE.match(text):
            raise RequirementsError(f"requirement {text!r} is not valid") from None
        return text
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise RequirementsError(f"requirement {text!r} is not valid: {exc}") from None
    if requirement.url:
        raise RequirementsError(
            f"requirement {text!r} names a URL; give a package and version from the package"
            f" index, e.g. {requirement.name}>=1.0 (what a URL points at may need building from"
            " source, which would run its setup code outside the code-step sandbox)"
        )
    return str(requirement)


def environment_key(requirements: list[str]) -> str:
    identity = [sys.executable, sys.version, normalise(requirements)]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]


async def ensure_environment(
    requirements: list[str], cache_dir: Path, *, timeout: float = INSTALL_TIMEOUT
) -> str:
    """The interpreter of an environment with `requirements` installed (built on first use).

    Raises RequirementsError with pip's last lines when a package cannot be installed.
    With no requirements, the pool's own interpreter.
    """
    wanted = normalise(requirements)
    if not wanted:
        return sys.executable
    env = Path(cache_dir) / environment_key(wanted)
    python = env / "bin" / "python"
    if (env / READY).exists():
        return str(python)
    await asyncio.to_thread(_build, env, wanted, timeout)
    return str(python)


def _build(env: Path, requirements: list[str], timeout: float) -> None:
    def install(env: Path) -> None:
        _run([sys.executable, "-m", "venv", "--without-pip", str(env)], timeout, "venv")
        packages = Path(
            _run([str(env / "bin" / "python"), "-c", _PURELIB], timeout, "venv").strip()
        )
        base = "\n".join(site.getsitepackages() + [site.getusersitepackages()])
        (packages / "_relayflow_base.pth").write_text(base + "\n", encoding="utf-8")
        pip = [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python")]
        pip += ["install", "--disable-pip-version-check", "--no-input", "--only-binary=:all:"]
        pip += ["--progress-bar", "off", "--", *requirements]
        _run(pip, timeout, "pip", requirements)

    build_once(env, install, requirements)


def build_once(folder: Path, install: Callable[[Path], None], contents: list[str]) -> None:
    """Run `install(folder)` unless an earlier build finished; one build at a time per folder,
    across processes. A half-built folder (a crash, a failure) is removed and built again."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it
        if (folder / READY).exists():
            return
        shutil.rmtree(folder, ignore_errors=True)  # left half-built by a crash
        try:
            install(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        (folder / READY).write_text(json.dumps(contents) + "\n", encoding="utf-8")


_PURELIB = "import sysconfig; print(sysconfig.get_paths()['purelib'])"


def _run(argv: list[str], timeout: float, what: str, requirements: list[str] = ()) -> str:
    packages = ", ".join(requirements)
    done = run_installer(argv, timeout)
    if done is None:
        raise RequirementsError(
            f"installing {packages or 'the environment'} took longer than {timeout:g}s"
        )
    if done.returncode != 0:
        tail = output_tail(done)
        if what == "pip":
            hint = ""
            if "No matching distribution" in tail:
                hint = (
                    "\n(relayflow installs wheels only: building a package from source would"
                    " run its setup code outside the code-step sandbox; pick a version that"
                    " has a wheel for this platform)"
                )
            raise RequirementsError(
                f"could not install {packages}: pip exited with {done.returncode}:\n{tail}{hint}"
            )
        raise RequirementsError(f"could not create a Python environment ({what}):\n{tail}")
    return done.stdout


def run_installer(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str] | None:
    """Run an installer (pip, npm) without relayflow's secrets; None if it ran out of time."""
    try:
        return subprocess.run(
            argv,
            env=install_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None


def output_tail(done: subprocess.CompletedProcess[str], lines: int = 15) -> str:
    return "\n".join((done.stdout + done.stderr).strip().splitlines()[-lines:])


def install_env() -> dict[str, str]:
    """The installers' own settings (pip, npm), proxies and caches, but none of relayflow's
    secrets: a package's build scripts run arbitrary code."""
    names = set(PASSED_ENV) | {"HOME", "USER", "LOGNAME", "TMPDIR", "PYTHONUTF8"}
    env = {
        name: value
        for name, value in os.environ.items()
        if name in names or name.startswith(("PIP_", "XDG_", "UV_", "NPM_CONFIG_", "npm_config_"))
    }
    env.setdefault("PATH", os.defpath)
    return env
