"""Where a code-step process runs: a bubblewrap (bwrap) sandbox that shows it only what it needs.

    isolation = detect(hidden=[home])        # probes once; isolation.problem says why not
    argv = isolation.sandbox.command([python, "-I", "child.py"], read_only=[venv])

Inside, a process sees the system's programs and libraries (/usr), a few files of /etc that
name lookups and TLS need, the folders it was given read-only (its interpreter, the step's
cached venv), a private /tmp and /dev/shm in memory, a /proc that lists only the sandbox's own
processes, and the network. It does not see relayflow's home, database, key files, other
workflows' files or any other process. Its PID namespace ends with it: when the process
that started the sandbox kills it (time limit) or dies, every process the step started dies.

Two ways in, chosen by who runs relayflow:
- as root, bwrap sets up the namespaces with root's rights and then `setpriv` drops to a
  dedicated unprivileged uid (one per sandbox, from UID_BASE), with no capabilities and
  no_new_privs: the step cannot read root's files even where it could name them, and a
  per-uid process limit (RLIMIT_NPROC) counts only that sandbox's processes;
- as a normal user, bwrap creates a user namespace (the step appears as uid 65534); the
  process limit then counts the processes of that namespace.
Any interpreter can be run this way: `command` wraps an argv, `python_paths` says what a
Python interpreter needs to see (a Node.js runner would list its node_modules instead).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import shutil
import site
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CODESTEP = str(Path(__file__).resolve().parent)  # child.py and pd.py, shown read-only
UID_BASE = 1_800_000_000  # root: sandboxes run as UID_BASE + (pool pid % 4096) * 256 + n
SANDBOX_UID = 65534  # how the step sees itself in a user namespace ("nobody")
UNSAFE_OPT_IN = "RELAYFLOW_UNSAFE_CODE_STEPS=1"
PROBE_TIMEOUT = 20.0

# What programs need from /etc: name lookups, TLS roots, time zone, the loader's cache, and
# the alternatives that /usr/bin links point at. Not the rest (it may hold secrets).
ETC = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "gai.conf",
    "group",
    "host.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "passwd",
    "pki",
    "protocols",
    "resolv.conf",
    "services",
    "ssl",
    "timezone",
    f"python{sys.version_info.major}.{sys.version_info.minor}",
)
TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # links into /usr on most systems


class Sandbox:
    """bwrap around a command. `command(argv, read_only)` is the argv to start instead."""

    def __init__(
        self,
        bwrap: str,
        *,
        version: tuple[int, ...] = (0, 0),
        as_root: bool | None = None,
        hidden: Sequence[str | os.PathLike[str]] = (),
        tmp_mb: int = 512,
        setpriv: str | None = None,
    ) -> None:
        self.bwrap = bwrap
        self.version = version
        self.as_root = os.geteuid() == 0 if as_root is None else as_root
        # Masked where a shown folder holds them, or they hold one (a venv in the home).
        self.hidden = [os.path.abspath(p) for p in hidden]
        self.tmp_mb = tmp_mb
        self.setpriv = setpriv or shutil.which("setpriv") or "/usr/bin/setpriv"
        self._uids = itertools.count()
        self._system = self._system_args(version)

    def describe(self) -> str:
        """One line for logs, the UI and `relayflow doctor`."""
        name = f"bubblewrap {'.'.join(map(str, self.version))}"
        namespaces = "own mount, PID, IPC and UTS namespaces, no other process visible"
        if self.as_root:
            who = f"as a dedicated unprivileged uid per process ({UID_BASE}+), no capabilities"
        else:
            who = "in a user namespace, no capabilities"
        return f"{name}: {namespaces}; {who}"

    def command(
        self, argv: Sequence[str], read_only: Iterable[str] = (), *, tmp_mb: int | None = None
    ) -> list[str]:
        """`argv` run inside a new sandbox that shows `read_only` (folders or files, at the
        same paths) besides the system. Each call is a sandbox of its own (as root, its own uid).
        """
        args = [self.bwrap, *self._namespaces(), *self._system]
        args += self._tmpfs("/tmp", "1777", (tmp_mb or self.tmp_mb) * 1024 * 1024)
        args += self._tmpfs("/dev/shm", "1777", 64 * 1024 * 1024)
        args += self._shown(read_only)
        args += ["--chdir", "/tmp", "--"]
        if self.as_root:
            uid = str(self.next_uid())
            args += [self.setpriv, "--reuid", uid, "--regid", uid, "--clear-groups"]
            args += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        return [*args, *argv]

    def next_uid(self) -> int:
        """As root: the uid of the next sandbox, distinct from this pool's other sandboxes and
        (by the pid) from those of other relayflow processes on the machine."""
        return UID_BASE + (os.getpid() % 4096) * 256 + next(self._uids) % 256

    def _namespaces(self) -> list[str]:
        args = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if not self.as_root:
            args += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
            if self.version >= (0, 8):
                args.append("--disable-userns")  # no nested namespaces to hide processes in
        return [*args, "--die-with-parent", "--new-session", "--hostname", "relayflow-code"]

    @staticmethod
    def _system_args(version: tuple[int, ...]) -> list[str]:
        args = ["--ro-bind", "/usr", "/usr"]
        if version >= (0, 5):  # as root, bwrap would make /etc 0700: unreadable after setpriv
            args += ["--perms", "0755", "--dir", "/etc"]
        for name in TOP_LEVEL:
            path = f"/{name}"
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for name in ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        return [*args, "--proc", "/proc", "--dev", "/dev"]

    def _shown(self, read_only: Iterable[str]) -> list[str]:
        """Binds for `read_only`; masks over the hidden folders that a shown folder holds or
        that hold one (a step's venv in the home); and the folders leading to them (mode
        0755, or 0711 inside a mask: bwrap would make them 0700)."""
        shown = _outermost(p for p in map(os.path.abspath, read_only) if os.path.exists(p))
        shown = [p for p in shown if not _under(p, "/usr")]
        masks = [
            h
            for h in _outermost(self.hidden)
            if os.path.isdir(h)
            and any((_under(h, p) or _under(p, h)) and h != p for p in [*shown, "/usr"])
        ]
        mounts = sorted(
            [(p, "bind") for p in shown] + [(h, "mask") for h in masks],
            key=lambda item: (item[0].count("/"), item[0]),
        )
        args: list[str] = []
        made: set[str] = set()
        for n, (path, kind) in enumerate(mounts):
            earlier = mounts[:n]
            for parent in _ancestors(path):
                exists = any(_under(parent, p) if k == "bind" else parent == p for p, k in earlier)
                if parent not in made and not exists:
                    made.add(parent)
                    masked = any(_under(parent, m) for m in masks)
                    args += ["--perms", "0711" if masked else "0755", "--dir", parent]
            if kind == "bind":
                args += ["--ro-bind", path, path]
            else:  # nothing to list, and nothing to read unless a bind below it is the way
                inner = any(_under(p, path) and p != path for p, _ in mounts)
                args += self._tmpfs(path, "0711" if inner else "0000", 4096)
        return args

    def _tmpfs(self, path: str, perms: str, size: int) -> list[str]:
        if self.version >= (0, 7):  # --perms and --size on a tmpfs came with bubblewrap 0.7
            return ["--perms", perms, "--size", str(size), "--tmpfs", path]
        return ["--tmpfs", path, "--chmod", perms, path]


def python_paths(python: str) -> list[str]:
    """What `python` needs to see read-only: its venv, its installation, relayflow's own
    site-packages (requirements venvs add them to their path) and child.py's folder."""
    paths = [CODESTEP, sys.prefix, sys.base_prefix, *site.getsitepackages()]
    user_site = site.getusersitepackages()
    if os.path.isdir(user_site):
        paths.append(user_site)
    venv = Path(python).absolute().parent.parent
    if (venv / "pyvenv.cfg").exists():
        paths.append(str(venv))
    return _outermost(paths)


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _outermost(paths: Iterable[str]) -> list[str]:
    found: list[str] = []
    for path in sorted(set(paths), key=len):
        if path != "/" and not any(_under(path, kept) for kept in found):
            found.append(path)
    return sorted(found)


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")[:-1]
    return ["/" + "/".join(parts[: n + 1]) for n in range(len(parts))]


# Is isolation available here? --------------------------------------------------------------


@dataclass(frozen=True)
class Isolation:
    """Whether code steps can be isolated here: a sandbox, or the problem and its fix."""

    sandbox: Sandbox | None
    problem: str = ""  # why not, and what to do about it

    @property
    def available(self) -> bool:
        return self.sandbox is not None

    def status(self, allow_unisolated: bool = False) -> str:
        """What happens to code steps here, in one sentence."""
        if self.sandbox is not None:
            return f"isolated with {self.sandbox.describe()}"
        if allow_unisolated:
            return (
                f"run WITHOUT isolation ({UNSAFE_OPT_IN} is set): {self.problem}; a code step"
                " can read relayflow's home, key files and database"
            )
        return f"refused: {self.problem}; or set {UNSAFE_OPT_IN} to run them without isolation"

    def refusal(self) -> str:
        """The step error when code steps are refused for want of isolation."""
        return (
            f"code steps are refused on this server because they cannot be isolated here:"
            f" {self.problem}. Fix that and restart relayflow, or set {UNSAFE_OPT_IN} to run"
            " code steps without isolation (they can then read relayflow's home, key files"
            " and database, and every connected account's secrets)"
        )


_PROBE = (
    "import json, os; print(json.dumps({'uid': os.getuid(), 'pid': os.getpid(),"
    " 'processes': [p for p in os.listdir('/proc') if p.isdigit()],"
    " 'tmp': os.access('/tmp', os.W_OK)}))"
)


def detect(bwrap: str | None = None, *, hidden: Sequence[str | os.PathLike[str]] = ()) -> Isolation:
    """Find bubblewrap and start one sandbox with it (once per process and arguments)."""
    return _detect(bwrap, tuple(os.path.abspath(p) for p in hidden))


@functools.cache
def _detect(bwrap: str | None, hidden: tuple[str, ...]) -> Isolation:
    if not sys.platform.startswith("linux"):
        return Isolation(None, f"code-step isolation needs Linux namespaces ({sys.platform})")
    found = shutil.which(bwrap or "bwrap")
    if found is None:
        where = f"{bwrap} does not exist" if bwrap else "bubblewrap (bwrap) is not installed"
        return Isolation(None, f"{where}; install it (Debian/Ubuntu: apt-get install bubblewrap)")
    version = _version(found)
    as_root = os.geteuid() == 0
    if as_root and shutil.which("setpriv") is None:
        return Isolation(None, "setpriv is missing (Debian/Ubuntu: apt-get install util-linux)")
    sandbox = Sandbox(found, version=version, as_root=as_root, hidden=hidden)
    argv = sandbox.command([sys.executable, "-I", "-S", "-c", _PROBE], python_paths(sys.executable))
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT, env=_probe_env()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Isolation(None, f"{found} could not start a sandbox ({exc})")
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        hint = "" if as_root else _userns_hint()
        return Isolation(None, f"{found} could not start a sandbox: {said}{hint}")
    try:
        seen = json.loads(done.stdout)
    except ValueError:
        return Isolation(None, f"{found} started a sandbox that answered {done.stdout[:200]!r}")
    if seen["uid"] == 0 or len(seen["processes"]) > 2 or not seen["tmp"]:
        return Isolation(None, f"{found} started a sandbox that is not isolated: {seen}")
    return Isolation(sandbox)


def _version(bwrap: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return (0, 0)
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out.stdout)
    return tuple(int(n) for n in match.groups() if n is not None) if match else (0, 0)


def _probe_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}


def _userns_hint() -> str:
    """Why user namespaces may be refused, from the kernel's switches."""
    switches = {
        "/proc/sys/kernel/unprivileged_userns_clone": (
            "0",
            "sysctl -w kernel.unprivileged_userns_clone=1",
        ),
        "/proc/sys/user/max_user_namespaces": ("0", "sysctl -w user.max_user_namespaces=15000"),
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns": (
            "1",
            "allow bwrap user namespaces in AppArmor (or sysctl -w"
            " kernel.apparmor_restrict_unprivileged_userns=0)",
        ),
    }
    for path, (off, fix) in switches.items():
        try:
            if Path(path).read_text().strip() == off:
                return f" (user namespaces are disabled: {fix})"
        except OSError:
            continue
    return ""
