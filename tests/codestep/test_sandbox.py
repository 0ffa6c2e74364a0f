"""The code-step sandbox: what a step can reach, and that nothing it starts outlives it.

The module's pool runs in bubblewrap (as root here: a dedicated uid per process). The host
side is read from /proc by the tests; a step's side is what it returns.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from attempts import FORK_BOMB, PRELUDE
from process_table import wait_until_gone
from relayflow.codestep import UNSAFE_OPT_IN, Isolation, Sandbox, detect

from .conftest import Pool


def code(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def marker() -> str:
    """A `sleep` duration no other process on the machine has: `sleep 123456.25`."""
    return f"{time.time_ns() % 10**6 + 10**6}.25"


# What a step can reach ----------------------------------------------------------------------


def test_the_pool_is_isolated_here(pool: Pool) -> None:
    isolation = pool.pool.isolation
    assert isolation is not None and isolation.available, isolation and isolation.problem
    assert isolation.status().startswith("isolated with bubblewrap")


PEEK = PRELUDE + code(
    """
    def handler(pd):
        secret, owner = pd.inputs["secret"], pd.inputs["owner"]
        return {
            "uid": os.getuid(),
            "pid": os.getpid(),
            "processes": sorted(p for p in os.listdir("/proc") if p.isdigit()),
            "read secret": attempt(lambda: read(secret)),
            "list its folder": attempt(lambda: os.listdir(os.path.dirname(secret))),
            "write beside it": attempt(lambda: open(secret + ".planted", "w").write("x")),
            "owner environ": attempt(lambda: read(f"/proc/{owner}/environ")),
            "kill owner": attempt(lambda: os.kill(owner, signal.SIGKILL)),
            "shadow": attempt(lambda: read("/etc/shadow")),
            "write /usr": attempt(lambda: open("/usr/planted", "w").write("x")),
            "tmp": attempt(lambda: open("/tmp/mine", "w").write("scratch")),
            "cwd": os.getcwd(),
        }
    """
)


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A folder outside /tmp (every sandbox has a /tmp of its own, which would hide it anyway)."""
    folder = Path(tempfile.mkdtemp(prefix="relayflow-test-", dir="/var/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_step_sees_neither_the_owners_files_nor_its_processes(pool: Pool, outside_tmp) -> None:
    secret = outside_tmp / "home" / "secret.key"
    secret.parent.mkdir()
    secret.write_text("the key")
    result = pool.run(PEEK, inputs={"secret": str(secret), "owner": os.getpid()})
    assert result.error is None, result.error
    seen = result.return_value
    assert seen["uid"] != 0 and seen["pid"] == 2
    assert seen["processes"] == ["1", "2"]  # bubblewrap's init and the step's process
    for attempt in ("read secret", "list its folder", "write beside it", "owner environ"):
        assert seen[attempt][0] in ("FileNotFoundError", "PermissionError"), (attempt, seen)
    assert seen["kill owner"][0] in ("ProcessLookupError", "PermissionError")
    assert seen["shadow"][0] in ("FileNotFoundError", "PermissionError")
    assert seen["write /usr"][0] in ("OSError", "PermissionError")  # read-only
    assert seen["tmp"] == ["ok", "7"] and seen["cwd"] == "/tmp"
    assert sorted(os.listdir(secret.parent)) == ["secret.key"]


def test_tmp_is_private_to_each_process(pool: Pool) -> None:
    write = "def handler(pd):\n    open('/tmp/note', 'w').write(pd.inputs['who'])\n"
    read = (
        "import os\ndef handler(pd):\n"
        "    return open('/tmp/note').read() if os.path.exists('/tmp/note') else None\n"
    )
    pool.run(write, inputs={"who": "alpha"}, workflow="tmp-a")
    assert pool.run(read, workflow="tmp-a").return_value == "alpha"  # its own, kept warm
    assert pool.run(read, workflow="tmp-b").return_value is None


def test_a_hidden_folder_inside_a_shown_one_is_masked(tmp_path) -> None:
    shown = tmp_path / "install"
    (shown / "home").mkdir(parents=True)
    (shown / "home" / "secret.key").write_text("the key")
    (shown / "lib.py").write_text("VISIBLE = True\n")
    sandbox = Sandbox(shutil.which("bwrap"), version=(0, 8), hidden=[shown / "home"])
    peek = (
        "import json, os, sys\n"
        "def attempt(f):\n"
        "    try:\n        return f()\n"
        "    except OSError as exc:\n        return type(exc).__name__\n"
        f"print(json.dumps([attempt(lambda: open({str(shown / 'lib.py')!r}).read()),"
        f" attempt(lambda: os.listdir({str(shown / 'home')!r}))]))\n"
    )
    python = os.path.realpath(sys.executable)  # the base interpreter, not relayflow's venv
    argv = sandbox.command([python, "-I", "-S", "-c", peek], [str(shown), sys.base_prefix])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["VISIBLE = True\n", "PermissionError"]


# Nothing outlives its step ---------------------------------------------------------------------


LEAVERS = {
    "a child with a new session": """
        import subprocess

        def handler(pd):
            subprocess.Popen(["sleep", "MARK"], start_new_session=True)
            return "left"
        """,
    "a double-forked daemon": """
        import os

        def handler(pd):
            if os.fork() == 0:          # the classic daemon: fork, setsid, fork, exec
                os.setsid()
                if os.fork() == 0:
                    os.execv("/bin/sleep", ["sleep", "MARK"])
                os._exit(0)
            os.wait()
            return "left"
        """,
}


@pytest.mark.parametrize("leaver", sorted(LEAVERS))
def test_what_a_step_leaves_running_ends_with_the_step(pool: Pool, leaver: str) -> None:
    mark = marker()
    result = pool.run(code(LEAVERS[leaver].replace("MARK", mark)), workflow="leaver")
    assert result.return_value == "left", result.error
    assert wait_until_gone(f"sleep\0{mark}") == []
    after = pool.run(
        "import os\ndef handler(pd):\n    return sorted(os.listdir('/proc'))\n", workflow="leaver"
    )
    assert [p for p in after.return_value if p.isdigit()] == ["1", "2"]


def test_a_fork_bomb_is_contained_and_cleared(fresh_pool) -> None:
    small = fresh_pool(size=1, max_processes=24)
    mark = marker()
    event = {"body": {"mark": mark}}
    result = small.run(FORK_BOMB, steps={"trigger": {"event": event}}, timeout=20)
    assert result.error is None, result.error
    assert result.return_value["refused"] > 0
    assert result.return_value["processes"] <= 1 + 24  # bubblewrap's init, and the allowance
    assert wait_until_gone(f"sleep\0{mark}") == []
    assert small.run("def handler(pd):\n    return 'still here'\n").return_value == "still here"


def test_children_of_different_workflows_count_separately(fresh_pool) -> None:
    small = fresh_pool(size=2, max_processes=12)
    hog = code(
        """
        import os, time

        def handler(pd):
            children = []
            try:
                while True:
                    pid = os.fork()
                    if pid == 0:
                        time.sleep(30)
                        os._exit(0)
                    children.append(pid)
            except BlockingIOError:
                pass
            return len(children)
        """
    )
    first, second = small.run_many(
        [small.request(hog, workflow="hog-1"), small.request(hog, workflow="hog-2")]
    )
    # Each got its own allowance (12, itself included), not a share of one.
    assert first.return_value == second.return_value == 11


# Where no sandbox can be had ----------------------------------------------------------------


def test_without_bubblewrap_code_steps_are_refused_with_the_fix(fresh_pool) -> None:
    isolation = detect("/nonexistent/bwrap")
    assert not isolation.available
    assert "/nonexistent/bwrap does not exist" in isolation.problem
    assert "apt-get install bubblewrap" in isolation.problem
    refused = fresh_pool(size=1, isolation=isolation)
    result = refused.run("def handler(pd):\n    return 1\n")
    assert result.error["name"] == "IsolationError"
    assert "cannot be isolated here" in result.error["message"]
    assert UNSAFE_OPT_IN in result.error["message"]
    assert refused.pool.stats()["started"] == 0


def test_the_operator_can_opt_in_to_unisolated_steps(fresh_pool) -> None:
    allowed = fresh_pool(
        size=1, isolation=Isolation(None, "no bubblewrap here"), allow_unisolated=True
    )
    result = allowed.run("import os\ndef handler(pd):\n    return os.getppid()\n")
    assert result.return_value == os.getpid()  # a plain child of the pool's process


# The user-namespace way in (relayflow run by a normal user) -------------------------------------


BOMB = """
import json, os, resource, time
resource.setrlimit(resource.RLIMIT_NPROC, (16, 16))
forked = 0
try:
    while forked < 200:
        if os.fork() == 0:
            time.sleep(20)
            os._exit(0)
        forked += 1
except BlockingIOError:
    pass
print(json.dumps({"uid": os.getuid(), "pid": os.getpid(), "forked": forked,
                  "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
                  "home": os.path.exists(os.environ["SECRET_HOME"])}))
"""


def test_a_normal_users_sandbox_counts_processes_per_user_namespace() -> None:
    """As an unprivileged user (nobody, when the tests run as root), two sandboxes at once
    each get the whole process allowance, and see nothing of the user's files."""
    bwrap = shutil.which("bwrap")
    sandbox = Sandbox(bwrap, version=(0, 8), as_root=False)
    python = "/usr/bin/python3" if os.geteuid() == 0 else sys.executable
    if not os.path.exists(python):
        pytest.fail(f"{python} is needed to run a sandbox as the user nobody")
    home = tempfile.mkdtemp(prefix="relayflow-userns-")
    os.chmod(home, 0o755)
    try:
        argv = sandbox.command([python, "-I", "-S", "-c", BOMB])  # /usr only
        as_nobody = {"user": 65534, "group": 65534, "extra_groups": []}
        launch = as_nobody if os.geteuid() == 0 else {}
        env = {"PATH": "/usr/bin:/bin", "SECRET_HOME": home}
        both = [
            subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env, **launch)
            for _ in range(2)
        ]
        seen = [json.loads(p.communicate(timeout=60)[0]) for p in both]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for each in seen:
        assert each["uid"] == 65534 and each["pid"] == 2
        assert each["home"] is False
        # 16 tasks in the namespace: bubblewrap's init, the process and 14 children.
        assert each["forked"] == 14 and each["processes"] == 16
    assert wait_until_gone("forked < 200") == []  # the children died with their sandbox


def test_the_files_of_etc_it_is_shown_can_be_read(pool: Pool) -> None:
    """As root, bubblewrap made /etc 0700, so after setpriv a step could not open
    /etc/hosts or the TLS roots (and node, which reads /etc/ssl/openssl.cnf, did not start)."""
    result = pool.run(
        code(
            """
            import os

            def handler(pd):
                return {
                    "passwd": len(open("/etc/passwd").read()) > 0,
                    "hosts": os.path.isfile("/etc/hosts") and os.access("/etc/hosts", os.R_OK),
                    "ssl": os.access("/etc/ssl", os.R_OK | os.X_OK),
                    "listed": sorted(os.listdir("/etc")),
                }
            """
        )
    )
    assert result.error is None, result.error
    seen = result.return_value
    assert seen["passwd"] and seen["hosts"] and seen["ssl"], seen
    assert "shadow" not in seen["listed"] and "passwd" in seen["listed"]
