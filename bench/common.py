"""Shared parts of the benchmarks: a `relayflow up` on a temp home, load, metrics, RSS.

Everything is loopback only (127.0.0.1) and cleans up after itself: servers run in their
own process group and are killed on exit, Ctrl-C or SIGTERM; temp homes are removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
# The relayflow command; RELAYFLOW_BIN overrides it (e.g. another installation's binary).
RELAYFLOW = shlex.split(os.environ.get("RELAYFLOW_BIN", "")) or [
    str(VENV_BIN / "relayflow") if (VENV_BIN / "relayflow").exists() else "relayflow"
]
DIAGNOSE = [sys.executable, str(Path(__file__).resolve().parent / "diagnose.py")]
HOST = "127.0.0.1"
WRK_HELP = (
    "wrk is not installed; the benchmark falls back to a slower Python load generator that\n"
    "shares the CPU with the server. Install wrk for trustworthy figures:\n"
    "    apt-get update && apt-get install -y wrk      (Debian/Ubuntu, as root)"
)


# Processes and temp dirs ------------------------------------------------------------------


def handle_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `with` blocks clean up like they do on Ctrl-C."""

    def raise_exit(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, raise_exit)


def run_main(main: Callable[[], int]) -> int:
    """Run a benchmark's main(): SIGTERM and Ctrl-C clean up (via `with`) and exit quietly."""
    handle_sigterm()
    try:
        return main()
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped and temp homes removed", file=sys.stderr)
        return 130


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_http(url: str, timeout: float = 30) -> None:
    """Return once `url` answers 200; RuntimeError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def temp_home(prefix: str, keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"relayflow-bench-{prefix}-"))
    try:
        yield path
    finally:
        if keep:
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def _kill_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_process(proc: subprocess.Popen, timeout: float = 15.0) -> int | None:
    """SIGTERM the process group, then SIGKILL it if it has not exited within `timeout`."""
    if proc.poll() is None:
        _kill_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc, signal.SIGKILL)
            proc.wait(5)
    _kill_group(proc, signal.SIGKILL)  # anything the leader left behind
    return proc.returncode


class Relayflow:
    """`relayflow up` (or `server`) on `home`, on a free 127.0.0.1 port, in its own group."""

    def __init__(
        self,
        home: Path,
        *,
        port: int | None = None,
        command: str = "up",
        env: dict[str, str] | None = None,
        diagnose: bool = False,
    ) -> None:
        """`diagnose`: run through bench/diagnose.py (GC, loop lag, writer timings)."""
        self.home = home
        self.diagnose = diagnose
        self.port = port or free_port()
        self.command = command
        self.env = {**os.environ, **(env or {})}
        self.env.pop("RELAYFLOW_DATABASE_URL", None)  # always the home's own SQLite file
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.home / "relayflow.db"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def deploy(self, workflow_yaml: str, name: str = "workflow.yaml") -> None:
        path = self.home / name
        path.write_text(workflow_yaml, encoding="utf-8")
        subprocess.run(
            [*RELAYFLOW, "deploy", str(path), "--home", str(self.home), "--json"],
            check=True,
            capture_output=True,
            env=self.env,
            timeout=120,
        )

    def start(self, timeout: float = 60.0) -> None:
        self.starts += 1
        logfile = open(self.home / f"{self.command}-{self.starts}.log", "wb")  # noqa: SIM115
        cmd = [*(DIAGNOSE if self.diagnose else RELAYFLOW), self.command]
        cmd += ["--home", str(self.home), "--host", HOST, "--port", str(self.port)]
        env = {**self.env, "RELAYFLOW_DIAG_OUT": str(self.diag_file)}
        self.proc = subprocess.Popen(
            cmd,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # own process group: kill -9 hits everything it started
        )
        logfile.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"relayflow {self.command} exited: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"relayflow {self.command} did not answer within {timeout}s")

    @property
    def diag_file(self) -> Path:
        return self.home / f"diag-{self.command}-{self.starts}.json"

    def diag_report(self, since: float = 0.0, until: float = float("inf")) -> list[str]:
        """bench/diagnose.py's summary of the last run (after `stop`)."""
        from diagnose import report

        if not self.diag_file.exists():
            return ["no diagnostics were written (did the server stop cleanly?)"]
        return report(str(self.diag_file), since, until)

    def wait_route(self, path: str, timeout: float = 10.0) -> None:
        """Until /hooks/<path> is served (the catalog reloads deploys twice a second)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = httpx.request("OPTIONS", f"{self.url}/hooks/{path}", timeout=2)
            if response.status_code == 204:
                return
            time.sleep(0.1)
        raise RuntimeError(f"/hooks/{path} is not served after {timeout}s")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def kill9(self) -> None:
        """`kill -9` the whole process group, as a crash would."""
        if self.proc is not None:
            _kill_group(self.proc, signal.SIGKILL)
            self.proc.wait(10)

    def log_tail(self, lines: int = 30) -> str:
        logs = sorted(self.home.glob(f"{self.command}-*.log"))
        if not logs:
            return ""
        text = logs[-1].read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def log_errors(self) -> list[str]:
        """Lines of every log of this home that look like errors (tracebacks, ERROR)."""
        found = []
        for path in sorted(self.home.glob("*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if "Traceback" in line or "ERROR" in line or "Error:" in line:
                    found.append(f"{path.name}: {line}")
        return found

    def metrics(self) -> dict[str, float]:
        return scrape_metrics(self.url)

    def __enter__(self) -> Relayflow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Metrics, database, RSS ------------------------------------------------------------------


def scrape_metrics(url: str) -> dict[str, float]:
    """/metrics as {sample name: value}, labelled samples summed into their name too."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics", timeout=10).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[sample.name] = out.get(sample.name, 0.0) + sample.value
            if sample.labels:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def db_query(db_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the SQLite file directly (a separate read-only connection; WAL allows it)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def db_scalar(db_path: Path, sql: str, params: tuple = ()) -> Any:
    return db_query(db_path, sql, params)[0][0]


PENDING_RUNS = "SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')"


def wait_drained(db_path: Path, timeout: float, poll: float = 0.25) -> float:
    """Wait until no run is queued or running; returns when that was seen (monotonic)."""
    deadline = time.monotonic() + timeout
    while True:
        pending = db_scalar(db_path, PENDING_RUNS)
        if pending == 0:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pending} runs still queued or running after {timeout:.0f}s")
        time.sleep(poll)


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (worker processes, code-step pools)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                queue.extend(int(c) for c in children)
    return found


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) per thread id of `pid`, from /proc/PID/task/*/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return out


def thread_names(pid: int) -> dict[int, str]:
    """Python thread names by thread id (py-spy dump when installed; else main/other)."""
    names = {pid: "MainThread (event loop)"}
    exe = _py_spy()
    if exe is None:
        return names
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        out = subprocess.run(
            [exe, "dump", "--nonblocking", "--pid", str(pid)],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout
        for match in re.finditer(r'^Thread (?:0x)?(\w+) \(\w+\): "([^"]*)"', out, re.M):
            tid = int(match.group(1), 16 if not match.group(1).isdigit() else 10)
            names[tid] = names.get(tid, match.group(2))
    return names


def cpu_rows(
    before: dict[int, float],
    after: dict[int, float],
    names: dict[int, str],
    seconds: float,
    per: int,
    unit: str,
) -> list[tuple[str, str]]:
    """Rows: each thread's share of one core over `seconds`, and CPU µs per `unit`."""
    used = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
    total = sum(used.values())
    rows = [
        (
            "server CPU",
            f"{100 * total / seconds:.0f}% of a core, {total * 1e6 / max(per, 1):.0f} µs/{unit}",
        )
    ]
    for tid, cpu in sorted(used.items(), key=lambda kv: -kv[1]):
        if cpu >= 0.01 * seconds:
            name = names.get(tid, f"thread {tid}")
            share = f"{100 * cpu / seconds:.0f}% of a core"
            rows.append((f"  {name}", f"{share}, {cpu * 1e6 / max(per, 1):.0f} µs/{unit}"))
    return rows


class RssSampler:
    """Samples /proc/PID/status VmRSS every `interval` seconds in a thread."""

    def __init__(self, pid_of: Callable[[], int], interval: float = 0.5) -> None:
        self.pid_of = pid_of
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._t0 = time.monotonic()

    def _loop(self) -> None:
        while not self._stop.is_set():
            kb = rss_kb(self.pid_of())
            if kb is not None:
                self.samples.append((time.monotonic() - self._t0, kb / 1024))
            self._stop.wait(self.interval)

    @property
    def peak_mb(self) -> float:
        return max((mb for _, mb in self.samples), default=0.0)

    @property
    def last_mb(self) -> float:
        return self.samples[-1][1] if self.samples else 0.0

    def __enter__(self) -> RssSampler:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def start_sandbox(home: Path, account: str, passcode: str) -> tuple[subprocess.Popen, str]:
    """The CleverTap sandbox in its own process (and group) on `home`/sandbox.db, with one
    account; (the process, its URL) once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [*RELAYFLOW, "sandbox", "clevertap", "--port", str(port)]
        + ["--db", str(home / "sandbox.db"), "--account", f"{account}:{passcode}"],
        stdout=(home / "sandbox.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://{HOST}:{port}"
    try:
        wait_http(f"{url}/_sandbox/health")
    except BaseException:
        stop_process(proc)
        raise
    return proc, url


# Workflows ----------------------------------------------------------------------------------


def echo_workflow(name: str, path: str, concurrency: int | None = None) -> str:
    """A one-step echo workflow; `concurrency` None leaves the product default (100)."""
    settings = f"settings:\n  concurrency: {concurrency}\n" if concurrency else ""
    return f"""\
name: {name}
trigger:
  http:
    path: {path}
steps:
  - name: echo
    uses: util.echo
    with:
      value:
        user: "{{{{ steps.trigger.event.body.user_id }}}}"
        plan: "{{{{ steps.trigger.event.body.plan }}}}"
{settings}"""


BODY = json.dumps({"user_id": 42, "email": "ada@example.com", "plan": "pro", "n": 1})


# Load: wrk, or a Python fallback -------------------------------------------------------------

_WRK_LUA = """\
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_us": %%d, "requests": %%d, "connect": %%d, "read": %%d, "write": %%d,'
    .. ' "status": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d,'
    .. ' "p999_us": %%d, "max_us": %%d, "mean_us": %%f}\\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
"""


@dataclass
class LoadResult:
    tool: str
    seconds: float
    requests: int  # responses received
    ok: int  # 200s
    non_2xx: int
    errors: int  # connect/read/write errors and timeouts
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str,
    body: str,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    timeout_s: float = 10.0,
    workdir: Path,
) -> LoadResult:
    script = workdir / "post.lua"
    script.write_text(_WRK_LUA % _lua_string(body), encoding="utf-8")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s"]
    cmd += [f"--timeout={timeout_s:g}s", "--latency", "-s", str(script), url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=seconds + timeout_s + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    s = wrk_summary(out)
    return LoadResult(
        tool=f"wrk -t{threads} -c{connections}",
        seconds=s["duration_us"] / 1e6,
        requests=s["requests"],
        ok=s["requests"] - s["status"],  # wrk counts every response; `status` = non-2xx/3xx
        non_2xx=s["status"],
        errors=s["connect"] + s["read"] + s["write"] + s["timeout"],
        p50_ms=s["p50_us"] / 1000,
        p90_ms=s["p90_us"] / 1000,
        p99_ms=s["p99_us"] / 1000,
        max_ms=s["max_us"] / 1000,
        extra={"raw": s},
    )


def wrk_summary(out: str) -> dict[str, Any]:
    """The JSON a wrk script's `done` wrote on its `WRKJSON ...` line."""
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary:\n{out}")
    return json.loads(line[len("WRKJSON ") :])


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


class PyLoad:
    """An asyncio + httpx load generator: `connections` loops posting `body` to `url`.

    Stops after `seconds`, after `total` acknowledgements, or when `stop` is set. With
    `tolerate_errors`, connection failures (a server being restarted) are counted and
    retried after a short pause. `on_ack(json)` sees every 200 response's body.
    """

    def __init__(
        self,
        url: str,
        body: str,
        *,
        connections: int,
        seconds: float | None = None,
        total: int | None = None,
        on_ack: Callable[[dict[str, Any]], None] | None = None,
        tolerate_errors: bool = False,
        stop: threading.Event | None = None,
    ) -> None:
        self.url = url
        self.body = body.encode()
        self.connections = connections
        self.seconds = seconds
        self.total = total
        self.on_ack = on_ack
        self.tolerate_errors = tolerate_errors
        self.stop = stop or threading.Event()
        self.latencies: list[float] = []
        self.ok = 0
        self.claimed = 0  # requests started, so `total` is not overshot by those in flight
        self.non_2xx = 0
        self.errors = 0

    def _done(self, deadline: float | None) -> bool:
        return (
            self.stop.is_set()
            or (deadline is not None and time.monotonic() >= deadline)
            or (self.total is not None and self.claimed >= self.total)
        )

    async def _one(self, client: httpx.AsyncClient, deadline: float | None) -> None:
        headers = {"content-type": "application/json"}
        while not self._done(deadline):
            self.claimed += 1
            started = time.perf_counter()
            try:
                response = await client.post(self.url, content=self.body, headers=headers)
            except httpx.HTTPError:
                self.claimed -= 1
                self.errors += 1
                if not self.tolerate_errors:
                    raise
                await asyncio.sleep(0.05)
                continue
            if response.status_code == 200:
                self.latencies.append(time.perf_counter() - started)
                self.ok += 1
                if self.on_ack is not None:
                    self.on_ack(response.json())
            else:
                self.claimed -= 1
                self.non_2xx += 1
                if self.tolerate_errors:
                    await asyncio.sleep(0.05)

    async def _main(self) -> float:
        limits = httpx.Limits(max_connections=self.connections, max_keepalive_connections=None)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            started = time.monotonic()
            deadline = started + self.seconds if self.seconds else None
            await asyncio.gather(*(self._one(client, deadline) for _ in range(self.connections)))
            return time.monotonic() - started

    def run(self) -> LoadResult:
        seconds = asyncio.run(self._main())
        ms = [v * 1000 for v in self.latencies]
        return LoadResult(
            tool=f"python httpx c{self.connections}",
            seconds=seconds,
            requests=self.ok + self.non_2xx,
            ok=self.ok,
            non_2xx=self.non_2xx,
            errors=self.errors,
            p50_ms=percentile(ms, 50),
            p90_ms=percentile(ms, 90),
            p99_ms=percentile(ms, 99),
            max_ms=max(ms, default=0.0),
        )


def load(
    url: str, body: str, *, connections: int, seconds: float, workdir: Path, threads: int = 1
) -> LoadResult:
    """wrk when installed, else the Python generator (with a note on how to get wrk)."""
    if have_wrk():
        return run_wrk(
            url, body, connections=connections, seconds=seconds, threads=threads, workdir=workdir
        )
    print(WRK_HELP, file=sys.stderr)
    return PyLoad(url, body, connections=connections, seconds=seconds).run()


class Profiler:
    """py-spy sampling a server while it is under load (`pip install py-spy` into the venv).

    Writes py-spy's raw (collapsed) stacks to `out` and summarises them per thread: how busy
    each thread was, and the functions where its samples were spent (inclusive and self).
    """

    def __init__(
        self, pid: int, out: Path, rate: int = 250, gil: bool = False, blocking: bool = False
    ) -> None:
        self.pid = pid
        self.out = out
        self.rate = rate
        self.gil = gil  # only samples of the thread holding the GIL: where Python CPU goes
        self.blocking = blocking  # pause the process per sample: exact stacks, more overhead
        self.proc: subprocess.Popen | None = None
        self.seconds = 0.0

    @staticmethod
    def available() -> bool:
        return _py_spy() is not None

    def __enter__(self) -> Profiler:
        exe = _py_spy()
        if exe is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        cmd = [exe, "record", "--pid", str(self.pid), "--rate", str(self.rate)]
        cmd += ["--format", "raw", "-o", str(self.out), "--threads", "--nolineno"]
        cmd += ([] if self.blocking else ["--nonblocking"]) + (["--gil"] if self.gil else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.seconds = time.monotonic() - self._t0
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def summary(self, top: int = 18) -> str:
        """Per thread: share of wall time on CPU, then top functions inclusive and self."""
        if not self.out.exists():
            return "py-spy wrote no profile"
        threads: dict[str, dict[str, Any]] = {}
        for line in self.out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            frames = stack.split(";")
            name = frames[0].split(": ", 1)[-1]
            if name.startswith("asyncio_") or name.startswith("ThreadPoolExecutor"):
                name = "to_thread pool"
            t = threads.setdefault(name, {"n": 0, "incl": {}, "self": {}})
            n = int(count)
            t["n"] += n
            for frame in set(frames[1:]):
                t["incl"][frame] = t["incl"].get(frame, 0) + n
            t["self"][frames[-1]] = t["self"].get(frames[-1], 0) + n
        wall = self.rate * self.seconds
        mode = "holding the GIL" if self.gil else "on CPU or waiting for the GIL"
        lines = [
            f"py-spy: {self.rate} samples/s for {self.seconds:.1f}s, threads {mode};"
            f" raw stacks in {self.out}"
        ]
        for name, t in sorted(threads.items(), key=lambda kv: -kv[1]["n"]):
            if t["n"] < wall * 0.01:
                continue
            lines.append(
                f"\nthread {name}: {t['n']} samples = {mode} ~{100 * t['n'] / wall:.0f}% of wall"
            )
            for label in ("incl", "self"):
                lines.append(f"  top functions, {'inclusive' if label == 'incl' else 'self'}:")
                ranked = sorted(t[label].items(), key=lambda kv: -kv[1])[:top]
                for frame, n in ranked:
                    lines.append(f"    {100 * n / t['n']:5.1f}%  {frame}")
        return "\n".join(lines)


def _py_spy() -> str | None:
    local = VENV_BIN / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def machine_rows() -> list[tuple[str, str]]:
    """What the figures depend on: load from other processes, and which relayflow ran."""
    import importlib.util

    spec = importlib.util.find_spec("relayflow")
    where = str(Path(spec.origin).parent.parent) if spec and spec.origin else "?"
    one, five, _ = os.getloadavg()
    return [
        ("machine", f"{os.cpu_count()} cores, load average {one:.2f} (1 min), {five:.2f} (5 min)"),
        ("relayflow source", where),
    ]


def print_table(rows: list[tuple[str, str]]) -> None:
    rows = rows + machine_rows()
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")
