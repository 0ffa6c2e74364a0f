"""The code-step worker process: runs `handler(pd)` for its pool, one request at a time.

Started by `relayflow.codestep.process` as `python -I child.py PARENT_PID MEMORY_MB PROCESSES`
with a clean environment, in a working folder of its own (or a sandbox, see sandbox.py).
Standard library only (with pd.py, the `pd` object): it also runs on the interpreters of
requirements environments.

In a sandbox (PARENT_PID 0, PROCESSES > 0) this process is alone in its PID namespace
beside bubblewrap's init (pid 1): it may have at most PROCESSES processes and threads, and
after each step it kills whatever the step left running, so nothing outlives its step.

Pipes: the parent's stdin/stdout pipes carry the protocol (4-byte length + JSON message) and
are moved to private descriptors at start; descriptors 1 and 2 (print, logging, and any
subprocess the step starts) go to the parent's stderr pipe, which the parent reads as the
step's logs. At the end of a call a marker line tells the parent the logs are complete.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import linecache
import os
import signal
import sys
import time
import traceback
import types
from typing import Any


def _load_pd() -> types.ModuleType:
    """pd.py beside this file. Loaded by path: this folder is not put on sys.path, where its
    modules' names (pool, worker, request) would shadow a step's own imports."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pd.py")
    spec = importlib.util.spec_from_file_location("relayflow_pd", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_pd = _load_pd()
Pd = _pd.Pd

_CODE_CACHE_SIZE = 256


class _Channel:
    """Length-prefixed JSON messages over two descriptors."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd = rfd
        self.wfd = wfd

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
        _write_all(self.wfd, len(data).to_bytes(4, "big") + data)

    def receive(self) -> dict[str, Any] | None:
        head = _read_exactly(self.rfd, 4)
        if head is None:
            return None
        body = _read_exactly(self.rfd, int.from_bytes(head, "big"))
        if body is None:
            return None
        return json.loads(body)

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(message)
        answer = self.receive()
        if answer is None:
            os._exit(0)  # the pool went away
        return answer


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class Child:
    def __init__(self, channel: _Channel, memory_mb: int, sandboxed: bool = False) -> None:
        self.channel = channel
        self.memory_mb = memory_mb
        # kill(-1) below reaches every process this one may signal: only in a PID namespace
        # of its own, under bubblewrap's init, is that exactly what the step started.
        self.sandboxed = sandboxed and os.getppid() == 1 and os.getpid() != 1
        self.code: dict[tuple[str, str], types.CodeType] = {}
        self.stdout = sys.stdout
        self.stderr = sys.stderr

    def serve(self) -> None:
        self.channel.send({"t": "ready", "pid": os.getpid()})
        while True:
            message = self.channel.receive()
            if message is None:
                return
            if message.get("t") == "call":
                self.call(message)

    def compiled(self, source: str, filename: str) -> types.CodeType:
        key = (filename, source)
        code = self.code.get(key)
        if code is None:
            code = compile(source, filename, "exec", dont_inherit=True)
            if len(self.code) >= _CODE_CACHE_SIZE:
                self.code.pop(next(iter(self.code)))
            self.code[key] = code
        return code

    def call(self, message: dict[str, Any]) -> None:
        filename = message.get("filename") or "<code>"
        source = message.get("source") or ""
        env = message.get("env") or {}
        saved_env = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        pd = None
        value = None
        error = None
        retire = False
        try:
            pd = Pd(message, self.channel)
            code = self.compiled(source, filename)
            scope: dict[str, Any] = {
                "__name__": "__step__",
                "__file__": filename,
                "__builtins__": builtins,
            }
            exec(code, scope)  # noqa: S102 - running the user's step is the point
            handler = scope.get("handler")
            if not callable(handler):
                raise _NoHandler(filename)
            takes_pd = getattr(getattr(handler, "__code__", None), "co_argcount", 1) != 0
            value = handler(pd) if takes_pd else handler()
            if isinstance(value, types.CoroutineType):
                import asyncio

                value = asyncio.run(value)
            problem = _pd.unserialisable(value, "the return value")
            if problem:
                error = {
                    "name": "TypeError",
                    "message": f"{problem}, which is not JSON-serialisable; return str, int,"
                    " float, bool, None, list and dict (e.g. str(value), value.isoformat())",
                    "traceback": "",
                }
                value = None
        except MemoryError as exc:
            value = None
            retire = True  # what else broke is unknown; the pool replaces this process
            error = {"name": "MemoryError", "traceback": ""}
            with contextlib.suppress(MemoryError):
                error = _describe(exc, filename, source)
            error["message"] = f"ran out of memory (limit {self.memory_mb} MB)"
        except BaseException as exc:  # noqa: BLE001 - the user's error is the step's result
            value = None
            error = _describe(exc, filename, source)
        finally:
            for name, old in saved_env.items():
                if old is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = old
        self.finish(message, pd, value, error, retire)

    def finish(
        self, message: dict[str, Any], pd: Pd | None, value: Any, error: Any, retire: bool
    ) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # the user replaced or closed it
                stream.flush()
        sys.stdout, sys.stderr = self.stdout, self.stderr
        if self.sandboxed:
            _end_strays()
        self.stdout.flush()
        self.stderr.flush()
        try:
            os.write(2, f"\x00relayflow:end:{message.get('id')}\x00\n".encode())
        except OSError:  # the step closed its output: the pool will replace this process
            retire = True
        reply = {
            "t": "done",
            "return_value": value,
            "exports": pd.exports if pd else {},
            "error": error,
            "exit_reason": pd.flow.exit_reason if pd else None,
            "delay_ms": pd.flow.delay_ms if pd else None,
            "rerun": pd.flow.rerun_args if pd else None,
            "response": pd.response if pd else None,
            "retire": retire,
        }
        try:
            self.channel.send(reply)
        except (TypeError, ValueError) as exc:  # something slipped past the checks
            self.channel.send(
                {
                    "t": "done",
                    "error": {"name": "TypeError", "message": str(exc), "traceback": ""},
                    "exports": {},
                    "retire": retire,
                }
            )
        except MemoryError:
            os._exit(70)


class _NoHandler(Exception):
    def __init__(self, filename: str) -> None:
        super().__init__(
            f"{filename} defines no handler; write `def handler(pd):` and return a value"
        )


def _describe(exc: BaseException, filename: str, source: str) -> dict[str, Any]:
    """The exception as the user should see it: name, message, and only their own frames."""
    if isinstance(exc, _NoHandler):
        return {"name": "CodeStepError", "message": str(exc), "traceback": ""}
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    message = str(exc)
    if isinstance(exc, SystemExit):
        message = (
            f"the step called sys.exit({exc.code!r}); return a value to finish the step,"
            " or `return pd.flow.exit(reason)` to end the run"
        )
    try:
        summary = traceback.TracebackException.from_exception(exc)
        _only_user_frames(summary, filename, set())
        text = "".join(summary.format())
    except Exception:  # noqa: BLE001 - a broken __str__ or __repr__ in the user's exception
        text = f"{type(exc).__name__}\n"
    if isinstance(exc, SyntaxError):
        message = f"{exc.msg} ({filename}, line {exc.lineno})"
    return {"name": type(exc).__name__, "message": message, "traceback": text}


def _only_user_frames(summary: traceback.TracebackException, filename: str, seen: set) -> None:
    if id(summary) in seen:
        return
    seen.add(id(summary))
    summary.stack = traceback.StackSummary.from_list(
        [frame for frame in summary.stack if frame.filename == filename]
    )
    for chained in (summary.__cause__, summary.__context__):
        if chained is not None:
            _only_user_frames(chained, filename, seen)


def _end_strays() -> None:
    """Kill every process the step started (with a new session or not) and reap them.

    kill(-1) signals every process of this PID namespace but init and this one; killed
    children of this process are reaped here, orphans by init. Bounded: a process that
    forks as it is killed is caught by the next round.
    """
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return  # nothing left (zombies count until reaped)
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
        if not _others():
            _wait_for_init_to_reap()
            return
        time.sleep(0.001)


def _wait_for_init_to_reap(limit: float = 0.1) -> None:
    """Orphans killed above are reaped by the sandbox's init, not here: wait (bounded) until
    they are, so the next step in this process sees no trace of this one's."""
    deadline = time.monotonic() + limit
    mine = str(os.getpid())
    while time.monotonic() < deadline:
        if not any(name.isdigit() and name not in ("1", mine) for name in os.listdir("/proc")):
            return
        time.sleep(0.001)


def _others() -> bool:
    """Whether a process other than init and this one is alive (not a zombie) here."""
    mine = str(os.getpid())
    for name in os.listdir("/proc"):
        if not name.isdigit() or name in ("1", mine):
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                if stat.read().rsplit(b") ", 1)[1][:1] != b"Z":
                    return True
        except (OSError, IndexError):
            continue
    return False


# Start-up --------------------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """Be killed when the pool's process dies, even while a step loops forever (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - elsewhere, EOF on the protocol pipe ends the process
        pass
    if parent and os.getppid() != parent:
        os._exit(0)


def _log_stream(fd: int):  # noqa: ANN202
    """Line-buffered text on `fd`, so each line reaches the parent as it is printed."""
    encoding = {"encoding": "utf-8", "errors": "backslashreplace"}
    return open(fd, "w", buffering=1, closefd=False, **encoding)  # noqa: SIM115


def _guard_sockets() -> None:
    """Install the socket guard the pool names (its egress policy), before any step runs."""
    path = os.environ.pop("RELAYFLOW_SOCKET_GUARD_MODULE", "")
    config = os.environ.pop("RELAYFLOW_SOCKET_GUARD", "")
    if not path:
        return
    import importlib.util

    spec = importlib.util.spec_from_file_location("relayflow_socket_guard", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    module.guard_sockets(config)


def main() -> None:
    parent, memory_mb = int(sys.argv[1]), int(sys.argv[2])
    processes = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    _die_with_parent(parent)
    rfd, wfd = os.dup(0), os.dup(1)  # the protocol; not inherited by subprocesses
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)  # print() and subprocess output go to the log pipe
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - for the life of the process
    sys.stdout = _log_stream(1)
    sys.stderr = _log_stream(2)
    import resource

    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if processes > 0:  # counted per sandbox (its own uid or user namespace), threads included
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    import faulthandler

    faulthandler.enable(sys.stderr)
    _guard_sockets()
    Child(_Channel(rfd, wfd), memory_mb, sandboxed=processes > 0).serve()


if __name__ == "__main__":
    main()
