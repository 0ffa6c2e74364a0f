"""Code steps in the process pool: what `pd` offers, what comes back, and what goes wrong."""

from __future__ import annotations

import os
import tempfile
import textwrap
import time
from pathlib import Path

from process_table import assert_dead, descendants, wait_until_gone
from relayflow.codestep.process import remove_stale_homes

from .conftest import Pool


def code(text: str) -> str:
    return textwrap.dedent(text).lstrip()


# What a step gets and gives -----------------------------------------------------------------


def test_return_value_exports_and_logs_come_back(pool: Pool) -> None:
    result = pool.run(
        code(
            """
            import sys

            def handler(pd):
                print("hello from", pd.steps["trigger"]["event"]["name"])
                print("a warning", file=sys.stderr)
                pd.export("domain", "example.com")
                return {"score": 42, "tags": ["a", "b"], "ratio": 0.5, "ok": True, "none": None}
            """
        ),
        steps={"trigger": {"event": {"name": "Ada"}, "context": {}}},
    )
    assert result.error is None, result.error
    assert result.return_value == {
        "score": 42,
        "tags": ["a", "b"],
        "ratio": 0.5,
        "ok": True,
        "none": None,
    }
    assert result.exports == {"domain": "example.com"}
    assert result.logs == ["hello from Ada", "a warning"]


def test_pd_sees_steps_inputs_and_context(pool: Pool) -> None:
    result = pool.run(
        code(
            """
            def handler(pd):
                return {
                    "email": pd.steps["trigger"]["event"]["body"]["email"],
                    "earlier": pd.steps["score"]["$return_value"],
                    "auth": pd.inputs["clevertap"]["$auth"]["account_id"],
                    "limit": pd.inputs["limit"],
                    "runs": pd.context["run"]["runs"],
                }
            """
        ),
        steps={
            "trigger": {"event": {"body": {"email": "ada@example.com"}}, "context": {}},
            "score": {"$return_value": 7},
        },
        inputs={"clevertap": {"$auth": {"account_id": "ACC-1"}}, "limit": 3},
        context={"run": {"runs": 2}, "resume_url": "r", "cancel_url": "c"},
    )
    assert result.return_value == {
        "email": "ada@example.com",
        "earlier": 7,
        "auth": "ACC-1",
        "limit": 3,
        "runs": 2,
    }


def test_async_handlers_are_awaited(pool: Pool) -> None:
    result = pool.run(
        code(
            """
            import asyncio

            async def handler(pd):
                await asyncio.sleep(0.01)
                return "awaited"
            """
        )
    )
    assert result.return_value == "awaited", result.error


def test_handler_without_pd_parameter_is_called_without_it(pool: Pool) -> None:
    assert pool.run("def handler():\n    return 1\n").return_value == 1


def test_module_code_runs_fresh_on_every_call(pool: Pool) -> None:
    source = code(
        """
        calls = []

        def handler(pd):
            calls.append(1)
            return len(calls)
        """
    )
    results = [pool.run(source, workflow="fresh").return_value for _ in range(3)]
    assert results == [1, 1, 1]


def test_env_is_added_for_the_call_only(pool: Pool) -> None:
    source = "import os\ndef handler(pd):\n    return os.environ.get('GREETING')\n"
    assert pool.run(source, env={"GREETING": "hi"}, workflow="env").return_value == "hi"
    assert pool.run(source, workflow="env").return_value is None


def test_subprocess_output_is_part_of_the_logs(pool: Pool) -> None:
    result = pool.run(
        code(
            """
            import os, subprocess

            def handler(pd):
                print("before")
                os.system("echo from a shell")
                subprocess.run(["sh", "-c", "echo to stderr >&2"])
                print("after", end="")
            """
        )
    )
    assert result.error is None, result.error
    assert result.logs == ["before", "from a shell", "to stderr", "after"]


def test_a_flood_of_output_is_cut_with_a_note(pool: Pool) -> None:
    result = pool.run("def handler(pd):\n    for i in range(30000):\n        print(i)\n")
    assert result.error is None
    assert len(result.logs) == 10_001
    assert result.logs[0] == "0"
    assert "20000 more lines were not kept" in result.logs[-1]


# Flow control and responses -----------------------------------------------------------------


def test_flow_exit_ends_the_run_after_the_step(pool: Pool) -> None:
    result = pool.run(
        code(
            """
            def handler(pd):
                if pd.steps["trigger"]["event"]["email"].endswith("@example.com"):
                    return pd.flow.exit("test account")
                return {"score": 1}
            """
        ),
        steps={"trigger": {"event": {"email": "a@example.com"}}},
    )
    assert result.exit_reason == "test account"
    assert result.return_value is None
    assert result.error is None


def test_flow_delay_returns_the_urls_and_takes_effect_after_the_step(pool: Pool) -> None:
    result = pool.run(
        code(
            """
            def handler(pd):
                urls = pd.flow.delay(60_000)
                pd.export("urls", urls)
                return "still running after delay()"
            """
        ),
        context={"resume_url": "http://x/resume/1", "cancel_url": "http://x/cancel/1"},
    )
    assert result.delay_ms == 60_000
    assert result.exports["urls"] == {
        "resume_url": "http://x/resume/1",
        "cancel_url": "http://x/cancel/1",
    }
    assert result.return_value == "still running after delay()"


def test_flow_rerun_takes_pipedreams_and_the_short_form(pool: Pool) -> None:
    short = pool.run("def handler(pd):\n    pd.flow.rerun(1000, 3)\n")
    assert short.rerun == {"delay_ms": 1000.0, "max_retries": 3}
    long = pool.run("def handler(pd):\n    pd.flow.rerun(500, None, 5)\n")
    assert long.rerun == {"delay_ms": 500.0, "max_retries": 5}
    default = pool.run("def handler(pd):\n    pd.flow.rerun(500)\n")
    assert default.rerun == {"delay_ms": 500.0, "max_retries": 10}


def test_bad_delay_fails_at_the_users_line(pool: Pool) -> None:
    result = pool.run("def handler(pd):\n    pd.flow.delay('soon')\n")
    assert result.error["name"] == "ValueError"
    assert "milliseconds" in result.error["message"]
    assert 'File "wf:step", line 2' in result.error["traceback"]


def test_respond_comes_back_with_defaults(pool: Pool) -> None:
    result = pool.run("def handler(pd):\n    pd.respond({'body': {'ok': True}})\n")
    assert result.response == {"status": 200, "headers": {}, "body": {"ok": True}}
    twice = pool.run(
        "def handler(pd):\n    pd.respond({'status': 201})\n    pd.respond({'status': 202})\n"
    )
    assert "already called" in twice.error["message"]


# Errors ---------------------------------------------------------------------------------


def test_exceptions_show_only_the_users_frames(pool: Pool) -> None:
    result = pool.run(
        code(
            """
            import json

            def parse(text):
                return json.loads(text)

            def handler(pd):
                return parse("{not json")
            """
        ),
        filename="signup/steps/score.py",
    )
    error = result.error
    assert error["name"] == "JSONDecodeError"
    assert "Expecting property name" in error["message"]
    trace = error["traceback"]
    assert trace.startswith("Traceback (most recent call last):")
    assert 'File "signup/steps/score.py", line 7, in handler' in trace
    assert 'return parse("{not json")' in trace
    assert 'File "signup/steps/score.py", line 4, in parse' in trace
    assert "child.py" not in trace and "json/decoder.py" not in trace


def test_syntax_errors_name_file_and_line(pool: Pool) -> None:
    result = pool.run("def handler(pd):\n    return (\n", filename="wf:broken")
    assert result.error["name"] == "SyntaxError"
    assert "wf:broken, line 2" in result.error["message"]


def test_a_module_without_handler_says_what_to_write(pool: Pool) -> None:
    result = pool.run("def main(pd):\n    return 1\n")
    assert result.error["name"] == "CodeStepError"
    assert "def handler(pd):" in result.error["message"]


def test_return_values_must_be_json(pool: Pool) -> None:
    result = pool.run(
        code(
            """
            import datetime

            def handler(pd):
                return {"when": datetime.datetime(2026, 1, 1), "n": 1}
            """
        )
    )
    assert result.error["name"] == "TypeError"
    assert "the return value['when'] is a datetime.datetime" in result.error["message"]
    assert "JSON-serialisable" in result.error["message"]
    assert result.return_value is None


def test_exports_must_be_json_and_fail_at_the_export(pool: Pool) -> None:
    result = pool.run("def handler(pd):\n    pd.export('s', {1, 2})\n")
    assert "pd.export('s') value is a set" in result.error["message"]
    assert "line 2" in result.error["traceback"]
    nan = pool.run("def handler(pd):\n    return float('nan')\n")
    assert "NaN and Infinity are not JSON" in nan.error["message"]
    big = pool.run("def handler(pd):\n    return [2**70]\n")
    assert "the return value[0] is an integer beyond 64 bits" in big.error["message"]


def test_sys_exit_is_a_step_error(pool: Pool) -> None:
    result = pool.run("import sys\ndef handler(pd):\n    sys.exit(3)\n")
    assert result.error["name"] == "SystemExit"
    assert "pd.flow.exit" in result.error["message"]
    assert pool.run("def handler(pd):\n    return 'alive'\n").return_value == "alive"


# Limits and broken processes ----------------------------------------------------------------


# A token the process keeps across steps (in sandboxes every process is pid 2 of its own).
IDENTITY = (
    "import sys, uuid\n"
    "def handler(pd):\n"
    "    return sys.__dict__.setdefault('_test_identity', uuid.uuid4().hex)\n"
)


def _identity(pool: Pool, workflow: str) -> str:
    return pool.run(IDENTITY, workflow=workflow).return_value


def _host_pids(pool: Pool, workflow: str) -> set[int]:
    """The host pids of `workflow`'s idle processes and of everything below them."""
    workers = [w for w in pool.pool._workers if w.key[2] == workflow and w.pid]
    return {p for w in workers for p in {w.pid, *descendants(w.pid)}}


def test_timeout_kills_the_process_keeps_its_logs_and_replaces_it(pool: Pool) -> None:
    before = _identity(pool, "slow")
    processes = _host_pids(pool, "slow")
    assert len(processes) >= 2  # the sandbox and the interpreter in it
    started = time.monotonic()
    result = pool.run(
        "def handler(pd):\n    print('working')\n    while True:\n        pass\n",
        timeout=1.0,
        workflow="slow",
    )
    assert time.monotonic() - started < 5
    assert result.error["name"] == "TimeoutError"
    assert result.error["message"] == "the code step was killed after 1s (time limit)"
    assert result.logs == ["working"]
    assert _identity(pool, "slow") != before
    assert_dead(*processes)


def test_memory_limit_fails_the_step_clearly(pool: Pool) -> None:
    result = pool.run(
        "def handler(pd):\n    data = bytearray(600 * 1024 * 1024)\n    return len(data)\n",
        memory_mb=256,
        workflow="hungry",
    )
    assert result.error["name"] == "MemoryError"
    assert result.error["message"] == "ran out of memory (limit 256 MB)"
    assert "line 2" in result.error["traceback"]
    assert pool.run("def handler(pd):\n    return len(bytearray(10**7))\n").return_value == 10**7


def test_a_killed_process_fails_the_step_and_is_replaced(pool: Pool) -> None:
    before = _identity(pool, "crash")
    result = pool.run(
        "import os, signal\ndef handler(pd):\n    print('bye')\n    os.kill(os.getpid(), 9)\n",
        workflow="crash",
    )
    assert result.error["name"] == "CrashError"
    assert result.error["message"] == "the process crashed (exit code -9)"
    assert result.logs == ["bye"]
    assert _identity(pool, "crash") != before
    exited = pool.run("import os\ndef handler(pd):\n    os._exit(3)\n", workflow="crash")
    assert exited.error["message"] == "the process crashed (exit code 3)"
    assert pool.run("def handler(pd):\n    return 'ok'\n", workflow="crash").return_value == "ok"


def test_timeout_also_ends_what_the_step_started(pool: Pool) -> None:
    marker = f"{time.time_ns() % 10**6}.5"  # `sleep 123456.5`: findable in the host's /proc
    result = pool.run(
        code(
            f"""
            import subprocess, time

            def handler(pd):
                subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
                time.sleep(60)
            """
        ),
        timeout=1.0,
        workflow="grandchild",
    )
    assert result.error["name"] == "TimeoutError"
    assert wait_until_gone(f"sleep\0{marker}") == []


# Isolation ---------------------------------------------------------------------------------


def test_the_process_has_a_clean_environment_and_no_inherited_files(
    fresh_pool, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("RELAYFLOW_SECRET_KEY", "s3cret")
    monkeypatch.setenv("RELAYFLOW_DATABASE_URL", "postgresql://u:pw@db/relayflow")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws")
    secret_file = tmp_path / "relayflow.db"
    secret_file.write_text("private")
    held = os.open(secret_file, os.O_RDONLY)  # inheritable or not, the child must not get it
    os.set_inheritable(held, True)
    try:
        isolated = fresh_pool(size=1)
        result = isolated.run(
            code(
                """
                import os

                def handler(pd):
                    fds = {}
                    for fd in os.listdir("/proc/self/fd"):
                        try:
                            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
                        except OSError:
                            pass
                    return {"env": dict(os.environ), "fds": fds, "cwd": os.getcwd(),
                            "parent_visible": os.getppid() > 1}
                """
            )
        )
    finally:
        os.close(held)
    assert result.error is None, result.error
    env = result.return_value["env"]
    assert not [name for name in env if name.startswith("RELAYFLOW")]
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert "s3cret" not in str(env)
    assert set(env) <= {
        "PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "HOME", "TMPDIR",
        "MALLOC_ARENA_MAX", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy",
        "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",  # the CA setting of Node.js steps' HTTPS calls
        "PWD",  # set by bubblewrap to the working folder
    }  # fmt: skip
    assert str(secret_file) not in str(result.return_value["fds"])
    assert env["HOME"] == result.return_value["cwd"]


def test_workflows_never_share_a_process(pool: Pool) -> None:
    first = {_identity(pool, "alpha") for _ in range(5)}
    second = {_identity(pool, "beta") for _ in range(5)}
    assert len(first) == 1 and len(second) == 1  # warm: the same process each time
    assert first.isdisjoint(second)


def test_a_step_cannot_patch_the_next_workflows_process(pool: Pool) -> None:
    planted = pool.run(
        "import json\ndef handler(pd):\n    json.loads = lambda *a, **k: 'stolen'\n",
        workflow="attacker",
    )
    assert planted.error is None
    victim = pool.run(
        "import json\ndef handler(pd):\n    return json.loads('{\"a\": 1}')\n", workflow="victim"
    )
    assert victim.return_value == {"a": 1}


def test_many_steps_at_once_all_finish(pool: Pool) -> None:
    source = "import time\ndef handler(pd):\n    time.sleep(0.05)\n    return pd.inputs['n']\n"
    requests = [pool.request(source, inputs={"n": n}, workflow="burst") for n in range(24)]
    results = pool.run_many(requests)
    assert [r.return_value for r in results] == list(range(24))
    assert pool.pool.stats()["processes"] <= pool.pool.max_workers


# Data stores from code -------------------------------------------------------------------


def test_data_store_input_behaves_like_a_dict_with_atomic_extras(pool: Pool) -> None:
    result = pool.run(
        code(
            """
            def handler(pd):
                ds = pd.inputs["store"]
                ds.clear()
                ds["user:1"] = {"name": "Ada"}
                ds.set("user:2", {"name": "Bob"}, ttl=3600)
                out = {
                    "get": ds["user:1"],
                    "missing": ds.get("nope", "fallback"),
                    "has": "user:1" in ds,
                    "keys": ds.keys(),
                    "prefix": ds.keys("user:"),
                    "len": len(ds),
                    "incr": [ds.incr("visits"), ds.incr("visits", 5)],
                    "first": ds.set_if_absent("lock", "me"),
                    "second": ds.set_if_absent("lock", "you"),
                    "cas_ok": ds.compare_and_set("lock", "me", "done"),
                    "cas_stale": ds.compare_and_set("lock", "me", "again"),
                    "lock": ds["lock"],
                }
                del ds["user:1"]
                try:
                    ds["user:1"]
                except KeyError:
                    out["deleted"] = True
                out["items"] = dict(ds.items("user:"))
                return out
            """
        ),
        inputs={"store": {"$data_store": "code-test"}},
    )
    assert result.error is None, result.error
    value = result.return_value
    assert value["get"] == {"name": "Ada"}
    assert value["missing"] == "fallback"
    assert value["has"] is True
    assert value["keys"] == ["user:1", "user:2"]
    assert value["prefix"] == ["user:1", "user:2"]
    assert value["len"] == 2
    assert value["incr"] == [1, 6]
    assert (value["first"], value["second"]) == (True, False)
    assert (value["cas_ok"], value["cas_stale"]) == (True, False)
    assert value["lock"] == "done"
    assert value["deleted"] is True
    assert value["items"] == {"user:2": {"name": "Bob"}}


def test_data_store_refusals_are_exceptions_in_the_step(pool: Pool) -> None:
    result = pool.run(
        code(
            """
            def handler(pd):
                ds = pd.inputs["store"]
                ds["name"] = "Ada"
                ds.incr("name")
            """
        ),
        inputs={"store": {"$data_store": "code-test-2"}},
    )
    assert result.error["name"] == "DataStoreError"
    assert "holds a string" in result.error["message"]
    assert "line 4" in result.error["traceback"]


def test_a_step_reaches_only_the_stores_it_was_given(pool: Pool) -> None:
    result = pool.run(
        code(
            """
            def handler(pd):
                ds = pd.inputs["store"]
                ds._name = "someone-elses"  # speaking the protocol directly does not help
                return ds.get("secret")
            """
        ),
        inputs={"store": {"$data_store": "mine"}},
    )
    assert result.error["name"] == "DataStoreError"
    assert "'someone-elses' is not an input of this step" in result.error["message"]


def test_closing_the_pool_ends_its_processes(fresh_pool) -> None:
    small = fresh_pool(size=2)
    pids: set[int] = set()
    for n in range(3):
        _identity(small, f"w{n}")
        pids |= _host_pids(small, f"w{n}")
    assert len(pids) >= 6
    small.loop.run(small.pool.close())
    assert_dead(*pids)


OWNER = """
import asyncio, sys
from relayflow.codestep import CodePool, CodeRequest, Isolation

async def main():
    unisolated = sys.argv[1] == "unisolated"
    isolation = Isolation(None, "off for this test") if unisolated else None
    pool = CodePool(size=2, isolation=isolation, allow_unisolated=unisolated)
    await pool.start()
    busy = "def handler(pd):\\n    while True:\\n        pass\\n"
    print(" ".join(str(w.pid) for w in pool._spares), flush=True)
    await pool.run(CodeRequest(busy, "x", {}, {}, {}, timeout=600))

asyncio.run(main())
"""


def _kill_owner(tmp_path: Path, mode: str) -> tuple[int, set[int]]:
    """Start a pool in another process, kill that process mid-step; its pid and processes."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    owner = subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE, text=True)
    spares = [int(p) for p in owner.stdout.readline().split()]
    assert len(spares) == 2
    time.sleep(0.5)  # one of them is now looping in a step
    processes = descendants(owner.pid)
    assert set(spares) <= processes
    owner.send_signal(signal.SIGKILL)
    owner.wait(10)
    return owner.pid, processes


def test_processes_die_with_the_process_that_owns_the_pool(tmp_path) -> None:
    _owner, processes = _kill_owner(tmp_path, "sandboxed")
    assert_dead(*processes)


def test_unisolated_processes_die_with_the_owner_and_their_folders_are_removed(tmp_path) -> None:
    owner, processes = _kill_owner(tmp_path, "unisolated")
    assert_dead(*processes)
    left = list(Path(tempfile.gettempdir()).glob(f"relayflow-code-{owner}-*"))
    assert left  # the owner could not clean up; the next pool to start does
    remove_stale_homes()
    assert not any(path.exists() for path in left)
