"""The start of a code step that tries things as an attacker would, and reports each try."""

PRELUDE = '''\
import os, signal, socket


def attempt(action):
    """["ok", what it got], or [the OSError's name, its message]."""
    try:
        return ["ok", repr(action())[:300]]
    except OSError as exc:
        return [type(exc).__name__, exc.strerror]


def read(path):
    with open(path, "rb") as handle:
        return handle.read(200)


def connect(path):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
'''

# For two seconds every process forks on (children too), as far as the process limit lets
# it; then the children become `sleep MARK` (MARK from the event), findable on the host.
FORK_BOMB = """\
import os, time


def handler(pd):
    mark = pd.steps["trigger"]["event"]["body"]["mark"]
    me, refused = os.getpid(), 0
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            os.fork()
        except BlockingIOError:
            refused += 1
            time.sleep(0.01)
    if os.getpid() != me:
        os.execv("/bin/sleep", ["sleep", mark])
    return {"refused": refused, "processes": len([p for p in os.listdir("/proc") if p.isdigit()])}
"""
