"""npm `packages:` of a workflow's Node.js code steps, installed once and cached.

Each distinct set gets a folder `npm-<hash>` under the cache folder (beside the Python
requirements venvs), holding a package.json and node_modules; a step's imports resolve there.
npm runs in relayflow's process, outside the code-step sandbox, so packages are installed
with `--ignore-scripts`: an install script would run with relayflow's rights. A package's
code first runs when a step imports it, inside the sandbox. Only registry packages are
accepted (a name and a version range or tag), not URLs, git repositories or paths.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
from pathlib import Path

from relayflow.codestep.environments import (
    READY,
    build_once,
    listed,
    output_tail,
    run_installer,
)

INSTALL_TIMEOUT = 900.0
_NAME = r"(?:@[a-z0-9~][a-z0-9._~-]*/)?[a-z0-9~][a-z0-9._~-]*"
_RANGE = r"[a-z0-9.^~<>=|*+ -]+"  # semver ranges and dist-tags: no ':' or '/' (URLs, git)
_SPEC = re.compile(rf"^{_NAME}(?:@{_RANGE})?$", re.IGNORECASE)


class PackagesError(Exception):
    """The packages are invalid, or npm could not install them; the message says which."""


def normalise(packages: list[str]) -> list[str]:
    """Packages as npm will get them: validated, de-duplicated, sorted."""
    return listed(packages, _checked)


def _checked(text: str) -> str:
    if text.startswith("#"):
        return ""
    if not _SPEC.match(text):
        raise PackagesError(
            f"package {text!r} is not an npm registry package; give a name and optionally"
            " a version, e.g. lodash or lodash@^4.17 or @scope/name@2 (URLs, git"
            " repositories, paths and npm options are not accepted)"
        )
    return text


def packages_key(packages: list[str]) -> str:
    return hashlib.sha256(json.dumps(normalise(packages)).encode()).hexdigest()[:16]


async def ensure_packages(
    packages: list[str], cache_dir: Path, *, timeout: float = INSTALL_TIMEOUT
) -> str:
    """The folder whose node_modules holds `packages` (installed on first use); "" for none.

    Raises PackagesError with npm's last lines when a package cannot be installed.
    """
    wanted = normalise(packages)
    if not wanted:
        return ""
    folder = Path(cache_dir) / f"npm-{packages_key(wanted)}"
    if not (folder / READY).exists():
        await asyncio.to_thread(build_once, folder, lambda f: _install(f, wanted, timeout), wanted)
    return str(folder)


def _install(folder: Path, packages: list[str], timeout: float) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise PackagesError(
            "installing npm packages needs npm (Debian/Ubuntu: apt-get install npm)"
        )
    folder.mkdir(parents=True)
    manifest = {"name": "relayflow-step-packages", "private": True, "type": "module"}
    (folder / "package.json").write_text(json.dumps(manifest) + "\n", encoding="utf-8")
    argv = [npm, "install", "--prefix", str(folder), "--ignore-scripts", "--omit=dev"]
    argv += ["--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error"]
    done = run_installer([*argv, "--", *packages], timeout)
    if done is None:
        raise PackagesError(f"installing {', '.join(packages)} took longer than {timeout:g}s")
    if done.returncode != 0:
        raise PackagesError(
            f"could not install {', '.join(packages)}: npm exited with {done.returncode}:\n"
            + output_tail(done)
        )
