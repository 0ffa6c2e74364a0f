"""One time limit: `settings.timeout` holds every step kind, code steps included."""

from __future__ import annotations

import httpx

ENDLESS = """\
name: endless
trigger: {http: {path: endless}}
settings: {timeout: 2s}
steps:
  - name: spin
    code: |
      def handler(pd):
          while True:
              pass
"""


def test_workflow_timeout_stops_an_endless_code_step(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.deploy_text("endless", ENDLESS)
    rf.start()
    run_id = httpx.post(f"{rf.url}/hooks/endless", json={}).json()["run_id"]
    run = rf.wait_finished(run_id, timeout=25)
    assert run["status"] == "failed"
    step = run["steps"][0]
    assert step["error"]["name"] == "TimeoutError"
    assert "after 2s" in step["error"]["message"]
    # The recorded attempt ended near the 2 s limit, not the 30 s default it used to get.
    assert step["finished_at"] - step["started_at"] < 15
