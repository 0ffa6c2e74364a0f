"""Reading runs in a terminal and counting activity: test runs are marked and left out of
the 24-hour stats and /metrics; `relayflow runs` at 80 columns shows a short id that
`inspect` and `replay` take back, and each error, cut to the line, below its run."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from conftest import Relayflow

FLAKY = """\
name: order-confirmation-to-clevertap
trigger: {http: {path: orders}}
steps:
  - name: shape
    uses: util.echo
    with: {value: "{{ steps.trigger.event.body.order.customer_email }}"}
"""


@pytest.fixture(scope="module")
def rf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relayflow]:
    home = tmp_path_factory.mktemp("history") / "home"
    home.mkdir()
    installation = Relayflow(home, f"sqlite:///{home / 'relayflow.db'}")
    installation.start()
    with installation.api() as api:
        assert api.post("/workflows", content=FLAKY).status_code == 200
    yield installation
    installation.stop_all()


def _metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def finished(rf: Relayflow, status: str, count: int) -> list[dict]:
    """Wait (through the API, 20 s at most) for `count` runs with `status`."""
    deadline = time.monotonic() + 20
    with rf.api() as api:
        while True:
            found = api.get("/runs", params={"status": status}).json()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def test_test_runs_are_marked_and_left_out_of_stats_and_metrics(rf: Relayflow):
    httpx.post(f"{rf.url}/hooks/orders", json={"order": {"customer_email": "a@example.com"}})
    assert len(finished(rf, "succeeded", 1)) == 1
    before = httpx.get(f"{rf.url}/metrics").text
    with rf.api() as api:
        for _ in range(4):  # four failing tests, as a newcomer fixing a mapping makes
            tested = api.post(
                "/workflows/order-confirmation-to-clevertap/test", json={"event": {"order": {}}}
            )
            assert tested.json()["status"] == "failed"
    after = httpx.get(f"{rf.url}/metrics").text

    with rf.api() as api:
        stats = api.get("/workflows/order-confirmation-to-clevertap/stats").json()
        tests = api.get("/runs", params={"test": "true"}).json()
        live = api.get("/runs", params={"test": "false"}).json()
    assert (stats["runs_24h"], stats["errors_24h"]) == (1, 0)
    assert stats["last_run"]["id"] == live[0]["id"]
    assert len(tests) == 4 and all(r["test"] and r["status"] == "failed" for r in tests)
    assert len(live) == 1 and not live[0]["test"]
    steps = "relayflow_steps_executed_total"
    assert _metric(after, steps) == _metric(before, steps)


def cli80(rf: Relayflow, *args: str, check: bool = True):
    rf.env["COLUMNS"] = "80"
    try:
        return rf.cli(*args, check=check)
    finally:
        del rf.env["COLUMNS"]


def test_runs_at_80_columns_show_a_short_id_that_inspect_and_replay_take(rf: Relayflow):
    httpx.post(f"{rf.url}/hooks/orders", json={"order": {"email_typo": "b@example.com"}})
    full = next(r["id"] for r in finished(rf, "failed", 5) if not r["test"])
    out = cli80(rf, "runs", "order-confirmation-to-clevertap").stdout
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), out
    assert lines[0].split() == ["run", "workflow", "status", "created", "took"]
    failed = next(i for i, line in enumerate(lines) if " failed " in line and " test " not in line)
    short = lines[failed].split()[0]
    assert 8 <= len(short) < len(full) and full.startswith(short)
    assert "order-confirmation-to-clevertap v1" in lines[failed]
    # The error, on the two lines below, cut to fit; inspect shows it whole.
    error = " ".join(line.strip() for line in lines[failed + 1 : failed + 3])
    assert error.startswith("↳ step shape, input value: steps.trigger.event.body.order.")
    assert error.endswith("…") and "customer_email does not exist" in error
    assert any(" test " in line for line in lines)  # the tests of the first test, marked

    shown = cli80(rf, "inspect", short).stdout
    assert f"run {full} of order-confirmation-to-clevertap v1: failed" in shown
    assert "steps.trigger.event.body.order.customer_email does not exist" in shown
    replayed = cli80(rf, "replay", short).stdout
    assert re.match(rf"queued run \w+ \(v1\) replaying {full}", replayed), replayed

    with rf.api() as api:
        assert api.get(f"/runs/{short}").json()["id"] == full
        ambiguous = api.get(f"/runs/{full[:4]}")
    assert ambiguous.status_code == 404
    assert "is the start of more than one run" in ambiguous.json()["detail"]
