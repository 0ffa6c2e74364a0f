"""The README's first run, as written: `relayflow up --demo`, its curl line, then `runs`
and `inspect` show a sign-up that went all the way through."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

from conftest import ROOT, free_port

RELAYFLOW = f"{shlex.quote(sys.executable)} -m relayflow.cli"


def _first_run_commands() -> list[str]:
    """The shell commands of the README's "Run it" section, continuation lines joined."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Run it", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            command = line.split("  #", 1)[0].strip()
            if command:
                commands.append(command)
    return commands


def _as_here(command: str, port: int) -> str:
    """The command pointed at this test's server and interpreter instead of the defaults."""
    command = command.replace("localhost:8787", f"127.0.0.1:{port}")
    return command.replace(".venv/bin/relayflow", RELAYFLOW)


def test_readme_first_run_commands_send_a_signup_through(sqlite_relayflow):
    rf = sqlite_relayflow
    commands = _first_run_commands()
    install, curl, runs, inspect = (
        next(c for c in commands if "up --demo" in c),
        next(c for c in commands if c.startswith("curl ")),
        next(c for c in commands if c.endswith("relayflow runs")),
        next(c for c in commands if "relayflow inspect RUN_ID" in c),
    )
    assert install.endswith(".venv/bin/relayflow up --demo"), install
    rf.port = free_port()
    proc = rf.spawn("up", "--demo", "--port", str(rf.port), "--sandbox-port", str(free_port()))
    rf.wait_healthy(proc)

    sent = subprocess.run(
        _as_here(curl, rf.port) + " --fail-with-body --silent --show-error",
        shell=True, env=rf.env, capture_output=True, text=True, timeout=30,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    (run,) = rf.wait_runs(1, workflow="signup-to-clevertap", status="succeeded", timeout=30)

    def shell(command: str) -> str:
        done = subprocess.run(
            _as_here(command, rf.port), shell=True, env=rf.env, capture_output=True,
            text=True, timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    listed = shell(runs)
    assert "signup-to-clevertap" in listed and "succeeded" in listed, listed
    shown = shell(inspect.replace("RUN_ID", run["id"][:8]))
    for step in ("upsert_user", "welcome", "welcome_message"):
        assert f"{step} — succeeded" in shown, shown
    steps = rf.inspect(run["id"])["steps"]
    assert [s["status"] for s in steps] == ["succeeded"] * 3, steps
