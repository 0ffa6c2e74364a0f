"""One code-step process, seen from the pool: start it, hand it a step, read its answer.

The process gets a clean environment (no RELAYFLOW_* variables or other secrets), no
inherited descriptors but its three pipes, and runs in a sandbox (sandbox.py: its own
filesystem view, private /tmp, PID namespace and uid), so a kill on timeout also ends
whatever the step started. Without a sandbox (the operator's opt-in) it gets a working
folder of its own and its own process group instead. Everything it sends is parsed as
JSON, never unpickled: the process runs untrusted code.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from relayflow.codestep.request import (
    DEFAULT_MAX_PROCESSES,
    STORE_OPS,
    CodeRequest,
    CodeResult,
    DataStoreHandler,
    failure,
)
from relayflow.codestep.runtimes import PYTHON, Runtime
from relayflow.codestep.sandbox import Sandbox

log = logging.getLogger(__name__)

MAX_MESSAGE = 64 * 1024 * 1024  # what a step may send back in one message
LOG_LINES = 10_000  # per step
LOG_CHARS = 1_000_000  # per step
LONGEST_LINE = 64 * 1024
START_TIMEOUT = 60.0
MARKER = b"\x00relayflow:end:"
HOME_PREFIX = "relayflow-code-"  # + the pool's pid: working folders of unsandboxed processes
SANDBOX_HOME = "/tmp"  # the sandbox's private, in-memory /tmp
# A guard on the child's sockets: (path of a standard-library-only module with a
# `guard_sockets(config)` function, its config); relayflow passes relayflow/egress.py.
SocketGuard = tuple[str, str]
GUARD_MODULE = "RELAYFLOW_SOCKET_GUARD_MODULE"
GUARD_CONFIG = "RELAYFLOW_SOCKET_GUARD"

# Variables a step's process may see: what a shell needs to find programs and text
# encodings, and the network proxy and CA settings its HTTP calls need. Nothing else.
PASSED_ENV = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
)


def clean_env(home: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    env["HOME"] = home
    env["TMPDIR"] = home
    env["MALLOC_ARENA_MAX"] = "2"  # per-thread arenas reserve 64 MB each against RLIMIT_AS
    return env


class WorkerStartError(RuntimeError):
    """The interpreter could not start a code-step process."""


class WorkerGone(Exception):
    """The process had exited before the step reached it: run the step on another."""


class _Crashed(Exception):
    pass


class _Refused(Exception):
    """The process broke the protocol; it is killed."""


class _Logs:
    """A step's output lines, bounded, fed from the log pipe as it arrives."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.chars = 0
        self.dropped = 0

    def add(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").removesuffix("\r")
        if len(self.lines) >= LOG_LINES or self.chars + len(line) > LOG_CHARS:
            self.dropped += 1
            return
        self.lines.append(line)
        self.chars += len(line)

    def result(self) -> list[str]:
        if not self.dropped:
            return self.lines
        note = (
            f"[relayflow] {self.dropped} more lines were not kept"
            f" (a step keeps {LOG_LINES} lines, {LOG_CHARS // 1_000_000} MB)"
        )
        return [*self.lines, note]


class CodeProcess:
    """A warm process that runs code steps for one workflow (its `key`), in `sandbox` (None:
    as a plain process, the operator's opt-in where no sandbox is available). `python` is
    the runtime's program: for Python the interpreter, for Node.js the packages folder."""

    def __init__(
        self,
        python: str,
        memory_mb: int,
        key: tuple[Any, ...],
        sandbox: Sandbox | None = None,
        max_processes: int = DEFAULT_MAX_PROCESSES,
        runtime: Runtime = PYTHON,
        *,
        socket_guard: SocketGuard | None = None,
    ) -> None:
        self.python = python
        self.runtime = runtime
        self.socket_guard = socket_guard
        self.memory_mb = memory_mb
        self.key = key
        self.sandbox = sandbox
        self.max_processes = max_processes
        self.proc: asyncio.subprocess.Process | None = None
        self.calls = 0
        self.last_used = time.monotonic()
        self.retire = False  # replace after the current call
        self._home = ""
        self._logs = _Logs()
        self._partial = b""
        self._call_id = 0
        self._ended = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        runtime, program = self.runtime, self.python
        if self.sandbox is not None:
            guard_file = [self.socket_guard[0]] if self.socket_guard else []
            argv = self.sandbox.command(
                runtime.argv(program, 0, self.memory_mb, self.max_processes),
                [*runtime.read_only(program), *guard_file],
                tmp_mb=max(64, self.memory_mb),
            )
            env, cwd = clean_env(SANDBOX_HOME), "/"
        else:
            self._home = tempfile.mkdtemp(prefix=f"{HOME_PREFIX}{os.getpid()}-")
            argv = runtime.argv(program, os.getpid(), self.memory_mb, 0)
            env, cwd = clean_env(self._home), self._home
        if self.socket_guard:
            env[GUARD_MODULE], env[GUARD_CONFIG] = self.socket_guard
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=cwd,
                close_fds=True,
                start_new_session=True,
            )
        except OSError as exc:
            self._remove_home()
            raise WorkerStartError(f"cannot start {argv[0]} for code steps: {exc}") from None
        self._reader = asyncio.create_task(self._read_logs())
        try:
            async with asyncio.timeout(START_TIMEOUT):
                ready = await self._receive()
        except (TimeoutError, _Crashed, _Refused) as exc:
            await self.kill()
            output = "\n".join(self._logs.lines[-20:])
            raise WorkerStartError(
                f"the {runtime.name} code-step process ({program or argv[-1]}) did not start"
                f" (exit code {self.proc.returncode}; {type(exc).__name__})"
                + (f":\n{output}" if output else "")
            ) from None
        if ready.get("t") != "ready":
            await self.kill()
            raise WorkerStartError(f"the code-step process ({program}) answered {ready!r}")

    async def call(self, request: CodeRequest, stores: DataStoreHandler | None) -> CodeResult:
        """Run one step. Raises WorkerGone if the process died before receiving it."""
        assert self.proc is not None and self.proc.stdin is not None
        self.calls += 1
        self._call_id = self.calls
        self._logs = _Logs()
        self._ended.clear()
        started = time.perf_counter()
        try:
            data = orjson.dumps(
                {
                    "t": "call",
                    "id": self._call_id,
                    "source": request.source,
                    "filename": request.filename,
                    "steps": request.steps,
                    "inputs": request.inputs,
                    "context": request.context,
                    "env": request.env,
                },
                option=orjson.OPT_NON_STR_KEYS,
            )
        except TypeError as exc:
            return failure("TypeError", f"the step's steps/inputs/context are not JSON: {exc}")
        if not self.alive:
            raise WorkerGone
        try:
            self.proc.stdin.write(len(data).to_bytes(4, "big") + data)
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise WorkerGone from None
        try:
            async with asyncio.timeout(request.timeout):
                reply = await self._exchange(request, stores)
        except TimeoutError:
            await self.kill()
            message = f"the code step was killed after {request.timeout:g}s (time limit)"
            return failure("TimeoutError", message, self._logs.result())
        except _Crashed:
            code = await self._wait()
            return failure("CrashError", _crash_message(code, request), self._logs.result())
        except _Refused as exc:
            await self.kill()
            return failure("CodeStepError", str(exc), self._logs.result())
        try:
            async with asyncio.timeout(1.0):
                await self._ended.wait()
        except TimeoutError:
            self.retire = True  # the step closed its output; start afresh next time
        self.last_used = time.monotonic()
        if reply.get("retire"):
            self.retire = True
        return CodeResult(
            return_value=reply.get("return_value"),
            exports=reply.get("exports") or {},
            logs=self._logs.result(),
            error=reply.get("error"),
            exit_reason=reply.get("exit_reason"),
            delay_ms=reply.get("delay_ms"),
            rerun=reply.get("rerun"),
            response=reply.get("response"),
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    async def _exchange(self, request: CodeRequest, stores: DataStoreHandler | None) -> dict:
        allowed = request.data_stores()
        while True:
            message = await self._receive()
            kind = message.get("t")
            if kind == "done":
                return message
            if kind != "store":
                raise _Refused(f"the code-step process sent an unexpected message ({kind!r})")
            answer = await self._store(message, allowed, stores)
            data = orjson.dumps(answer, option=orjson.OPT_NON_STR_KEYS)
            assert self.proc is not None and self.proc.stdin is not None
            try:
                self.proc.stdin.write(len(data).to_bytes(4, "big") + data)
                await self.proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                raise _Crashed from None

    async def _store(
        self, message: dict, allowed: frozenset[str], stores: DataStoreHandler | None
    ) -> dict:
        name, op, args = message.get("store"), message.get("op"), message.get("args")
        if not isinstance(name, str) or name not in allowed:
            return {"ok": False, "error": f"data store {name!r} is not an input of this step"}
        if op not in STORE_OPS or not isinstance(args, dict):
            return {"ok": False, "error": f"{op!r} is not a data-store operation"}
        if stores is None:
            return {"ok": False, "error": "data stores are not available here"}
        try:
            value = stores(name, op, args)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:  # noqa: BLE001 - the step sees why, as DataStoreError
            return {"ok": False, "error": str(exc) or type(exc).__name__}
        return {"ok": True, "value": value}

    async def _receive(self) -> dict:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            head = await self.proc.stdout.readexactly(4)
            size = int.from_bytes(head, "big")
            if size > MAX_MESSAGE:
                raise _Refused(
                    f"the step's result is larger than {MAX_MESSAGE // 2**20} MB; return less,"
                    " or keep large data in a data store or a file"
                )
            body = await self.proc.stdout.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionResetError):
            raise _Crashed from None
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise _Refused("the code-step process sent a message that is not JSON") from None
        if not isinstance(message, dict):
            raise _Refused("the code-step process sent a message that is not an object")
        return message

    async def _read_logs(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        stream = self.proc.stderr
        while True:
            chunk = await stream.read(65536)
            if not chunk:
                break
            self._feed(chunk)
        if self._partial:
            self._logs.add(self._partial)
            self._partial = b""

    def _feed(self, chunk: bytes) -> None:
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            at = line.find(MARKER)
            if at < 0:
                self._logs.add(line)
                continue
            if at:
                self._logs.add(line[:at])
            ended = line[at + len(MARKER) :].rstrip(b"\x00")
            if ended == str(self._call_id).encode():
                self._ended.set()
        while len(self._partial) > LONGEST_LINE:
            self._logs.add(self._partial[:LONGEST_LINE])
            self._partial = self._partial[LONGEST_LINE:]

    async def _wait(self) -> int:
        assert self.proc is not None
        try:
            async with asyncio.timeout(5):
                code = await self.proc.wait()
        except TimeoutError:
            await self.kill()
            code = self.proc.returncode if self.proc.returncode is not None else -9
        self._kill_group()
        await self._finish_reading()
        if self.sandbox is not None and code > 128:
            code = 128 - code  # bwrap exits 128 + N when its command died of signal N
        return code

    async def stop(self) -> None:
        """Let the process exit (end of its input), or kill it if it will not."""
        if self.proc is None:
            return
        if self.alive and self.proc.stdin is not None:
            self.proc.stdin.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self.proc.wait()
        await self.kill()

    async def kill(self) -> None:
        if self.proc is None:
            return
        self._kill_group()
        await self.proc.wait()
        await self._finish_reading()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self._remove_home()

    def _kill_group(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    async def _finish_reading(self) -> None:
        if self._reader is not None and not self._reader.done():
            try:
                async with asyncio.timeout(1.0):
                    await self._reader
            except TimeoutError:  # a grandchild holds the pipe; stop listening
                self._reader.cancel()

    def _remove_home(self) -> None:
        if self._home:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = ""


def _crash_message(code: int, request: CodeRequest) -> str:
    message = f"the process crashed (exit code {code})"
    if code in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS, -signal.SIGTRAP):
        message += f"; it may have run out of memory (limit {request.memory_mb} MB)"
    return message


def default_python() -> str:
    return sys.executable


def remove_stale_homes() -> int:
    """Remove the working folders left by pools whose process was killed (kill -9)."""
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{HOME_PREFIX}*-*"):
        owner = path.name[len(HOME_PREFIX) :].split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid():
            continue
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        except PermissionError:
            pass  # alive, someone else's
    return removed
