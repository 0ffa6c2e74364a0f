"""A delay's resume/cancel links work for that delay only, and not forever."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from conftest import Relayflow
from relayflow.config import Config
from relayflow.engine import links

TWICE = """\
name: twice
trigger: {http: {path: twice}}
steps:
  - {name: first, delay: 1h}
  - {name: second, delay: 1h}
  - {name: done, uses: util.echo, with: {value: done}}
"""


def sleeping_at(rf: Relayflow, run_id: str, step: str, timeout: float = 15) -> dict[str, Any]:
    """The return value of `step` once the run sleeps there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = rf.inspect(run_id)
        found = [s for s in run["steps"] if s["step_name"] == step]
        if run["status"] == "sleeping" and found:
            return found[0]["return_value"]
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not sleep at {step}: {rf.inspect(run_id)}")


def start_run(rf: Relayflow, name: str, text: str) -> str:
    """Deploy `text` and send its hook /hooks/<name> one event; the run's id."""
    rf.deploy_text(name, text)
    deadline = time.monotonic() + 10
    while (answer := httpx.post(f"{rf.url}/hooks/{name}", json={})).status_code == 404:
        assert time.monotonic() < deadline, "the deployed workflow did not start listening"
        time.sleep(0.1)
    return answer.json()["run_id"]


def test_a_delays_link_does_not_resume_a_later_delay(server: Relayflow):
    run_id = start_run(server, "twice", TWICE)
    first = sleeping_at(server, run_id, "first")
    assert "step=first" in first["resume_url"] and "exp=" in first["resume_url"]
    assert httpx.get(first["resume_url"]).json()["step"] == "first"
    second = sleeping_at(server, run_id, "second")
    again = httpx.get(first["resume_url"])
    assert again.status_code == 409
    assert "not sleeping at step first" in again.json()["error"]
    assert httpx.get(first["cancel_url"]).status_code == 409
    assert server.inspect(run_id)["status"] == "sleeping"
    assert httpx.get(second["cancel_url"]).status_code == 200
    assert server.inspect(run_id)["status"] == "cancelled"


def test_a_link_changed_in_any_part_is_forged_403(server: Relayflow):
    run_id = start_run(server, "twice", TWICE)
    resume = sleeping_at(server, run_id, "first")["resume_url"]
    query = parse_qs(urlsplit(resume).query)
    exp = int(query["exp"][0])
    forged = [
        resume.replace("step=first", "step=second"),
        resume.replace(f"exp={exp}", f"exp={exp + 3600}"),
        resume.replace("/resume?", "/cancel?"),
        resume.replace(run_id, run_id[:-1] + ("0" if run_id[-1] != "0" else "1")),
        resume.split("&sig=")[0],
        resume.replace("&sig=", "&sig=0"),
    ]
    for url in forged:
        answer = httpx.get(url)
        assert answer.status_code == 403, (url, answer.text)
    assert server.inspect(run_id)["status"] == "sleeping"


def test_a_link_expires_with_its_delay_plus_the_grace_period(server: Relayflow):
    run_id = start_run(server, "twice", TWICE)
    resume = sleeping_at(server, run_id, "first")["resume_url"]
    exp = int(parse_qs(urlsplit(resume).query)["exp"][0])
    assert 3600 + 86400 - 60 < exp - time.time() <= 3600 + 86400 + 1  # 1h delay, 1 day grace
    config = Config(home=server.home, database_url=server.database_url, public_url=server.url)
    ended = links.link(config, run_id, "first", "resume", time.time() - 86400 - 10)
    answer = httpx.get(ended)
    assert answer.status_code == 410 and "expired" in answer.json()["error"]
    assert server.inspect(run_id)["status"] == "sleeping"


CODE_DELAY = """\
name: codedelay
trigger: {http: {path: codedelay}}
steps:
  - name: pause
    code: |
      def handler(pd):
          return pd.flow.delay(3600 * 1000)
  - {name: done, uses: util.echo, with: {value: done}}
"""


def test_a_code_steps_delay_link_resumes_that_step_only(server: Relayflow):
    run_id = start_run(server, "codedelay", CODE_DELAY)
    urls = sleeping_at(server, run_id, "pause")
    assert "step=pause" in urls["resume_url"]
    other = urls["resume_url"].replace("step=pause", "step=done")
    assert httpx.get(other).status_code == 403
    assert httpx.get(urls["resume_url"]).status_code == 200
    assert server.wait_finished(run_id)["status"] == "succeeded"
