"""`for_each` loops in a real `relayflow up`: results in item order, concurrency, errors
collected or failing the run, the 10,000-item limit, and iterations that survive kill -9."""

from __future__ import annotations

import signal
import time

import httpx

from conftest import Relayflow
from receiver import Receiver

ORDER = """\
name: order
trigger: {http: {path: order}}
steps:
  - name: each_item
    for_each: "{{ steps.trigger.event.body.line_items }}"
    as: line
    concurrency: CONCURRENCY
    continue_on_error: CONTINUE
    steps:
      - name: priced
        uses: util.echo
        with: {value: {title: "{{ line.title }}", cents: "{{ line.price * 100 }}"}}
      - name: labelled
        uses: util.echo
        with:
          value: "{{ loop.index }}/{{ loop.length }} {{ steps.priced.$return_value.title }}"
  - name: after
    uses: util.echo
    with: {value: "{{ steps.each_item.$return_value }}"}
"""


def order(concurrency: int = 1, continue_on_error: bool = False) -> str:
    return ORDER.replace("CONCURRENCY", str(concurrency)).replace(
        "CONTINUE", str(continue_on_error).lower()
    )


def post(rf: Relayflow, path: str, body: dict) -> str:
    answer = httpx.post(f"{rf.url}/hooks/{path}", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["run_id"]


def iterations(rf: Relayflow, run_id: str, step: str, **page: int) -> dict:
    with rf.api() as api:
        answer = api.get(f"/runs/{run_id}/steps/{step}/iterations", params=page)
    assert answer.status_code == 200, answer.text
    return answer.json()


LINES = [{"title": "Mug", "price": 12}, {"title": "Tee", "price": 20}, {"title": "Cap", "price": 9}]


def test_loop_runs_its_steps_per_item_in_order_and_returns_their_last_results(
    relayflow: Relayflow,
):
    relayflow.deploy_text("order", order())
    relayflow.start()
    run = relayflow.wait_finished(post(relayflow, "order", {"line_items": LINES}))
    assert run["status"] == "succeeded", run
    loop, after = run["steps"]
    expected = ["0/3 Mug", "1/3 Tee", "2/3 Cap"]
    assert loop["return_value"] == expected and after["return_value"] == expected
    shown = iterations(relayflow, run["id"], "each_item")
    assert shown["total"] == 3
    first = shown["iterations"][0]
    assert [s["name"] for s in first["steps"]] == ["priced", "labelled"]
    assert first["steps"][0]["return_value"] == {"title": "Mug", "cents": 1200}
    page = iterations(relayflow, run["id"], "each_item", offset=2, limit=1)
    assert [i["iteration"] for i in page["iterations"]] == [2]
    assert page["iterations"][0]["result"] == "2/3 Cap"


def test_concurrent_iterations_collect_errors_or_fail_the_run(sqlite_relayflow: Relayflow):
    rf = sqlite_relayflow
    rf.deploy_text("order", order(concurrency=4, continue_on_error=True))
    rf.deploy_text("strict", order(concurrency=4).replace("order", "strict"))
    rf.start()
    lines = [{"title": f"item{i}", "price": i} for i in range(12)]
    lines[5] = {"title": "no price"}  # `line.price * 100` fails for this one
    collected = rf.wait_finished(post(rf, "order", {"line_items": lines}))
    assert collected["status"] == "succeeded", collected
    results = collected["steps"][0]["return_value"]
    assert results[5] is None
    assert results[:5] + results[6:] == [f"{i}/12 item{i}" for i in range(12) if i != 5]
    (error,) = collected["steps"][0]["exports"]["errors"]
    assert error["iteration"] == 5 and error["step"] == "priced"
    assert "line.price" in error["message"] or "price" in error["message"]

    strict = rf.wait_finished(post(rf, "strict", {"line_items": lines}))
    assert strict["status"] == "failed"
    assert "iteration 5" in strict["error"] and "step priced" in strict["error"]


def test_more_than_10000_items_is_a_clear_error(sqlite_relayflow: Relayflow):
    rf = sqlite_relayflow
    rf.deploy_text("order", order())
    rf.start()
    run = rf.wait_finished(post(rf, "order", {"line_items": list(range(10_001))}))
    assert run["status"] == "failed"
    assert "10,001 items; a loop takes at most 10,000" in run["error"]
    not_a_list = rf.wait_finished(post(rf, "order", {"line_items": "Mug"}))
    assert "it needs a list" in not_a_list["error"]


def test_a_bad_loop_is_refused_at_deploy(sqlite_relayflow: Relayflow):
    bad = order().replace("as: line", "as: steps").replace(
        "    steps:\n      - name: priced", "    stepz:\n      - name: priced"
    )
    path = sqlite_relayflow.home / "bad.yaml"
    path.write_text(bad)
    result = sqlite_relayflow.cli("deploy", str(path), check=False)
    assert result.returncode != 0
    assert "must be a plain name" in result.stdout + result.stderr


COUNTED = """\
name: counted
trigger: {{http: {{path: counted}}}}
steps:
  - name: each
    for_each: "{{{{ steps.trigger.event.body.keys }}}}"
    steps:
      - name: call
        uses: http.request
        with: {{method: POST, url: "{url}/?key={{{{ item }}}}"}}
      - name: seen
        uses: util.echo
        with: {{value: "{{{{ steps.call.$return_value.body.attempt }}}}"}}
"""


def test_loop_resumes_at_the_first_unfinished_iteration_after_kill_9(
    sqlite_relayflow: Relayflow,
):
    rf = sqlite_relayflow
    rf.env["RELAYFLOW_LEASE_SECONDS"] = "2"  # a lease not released at the restart expires soon
    with Receiver() as receiver:
        receiver.delay = 0.1
        rf.deploy_text("counted", COUNTED.format(url=receiver.url))
        server = rf.start()
        keys = [f"k{i}" for i in range(40)]
        run_id = post(rf, "counted", {"keys": keys})
        deadline = time.monotonic() + 30
        while len(receiver.requests) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        rf.kill(server, signal.SIGKILL)
        called_before = len(receiver.requests)
        assert 8 <= called_before < 40
        rf.start()
        run = rf.wait_finished(run_id, timeout=60)
        assert run["status"] == "succeeded", run
        assert all(receiver.counts[k] >= 1 for k in keys)
        # Only the iteration in flight at the kill ran its call twice; finished ones never.
        twice = [k for k in keys if receiver.counts[k] > 1]
        assert len(twice) <= 1, twice
        assert len(run["steps"][0]["return_value"]) == 40


def test_the_inspector_pages_through_iterations(sqlite_relayflow: Relayflow):
    rf = sqlite_relayflow
    rf.env["RELAYFLOW_ADMIN_PASSWORD"] = "correct-horse-battery"
    rf.deploy_text("order", order())
    rf.start()
    lines = [{"title": f"item{i}", "price": i} for i in range(25)]
    run = rf.wait_finished(post(rf, "order", {"line_items": lines}))
    assert run["status"] == "succeeded", run
    with httpx.Client(base_url=rf.url, timeout=10) as browser:
        signed_in = browser.post(
            "/login", data={"username": "admin", "password": "correct-horse-battery"}
        )
        assert signed_in.status_code in (200, 303), signed_in.text
        first = browser.get(f"/runs/{run['id']}").text
        assert "Iterations 1–20 of 25" in first and "#19 <span" in first
        assert "#20 <span" not in first and "A list of 25 results" in first
        assert "?iterations.0=20#iterations-0" in first
        second = browser.get(f"/runs/{run['id']}", params={"iterations.0": 20}).text
        assert "Iterations 21–25 of 25" in second and "#24 <span" in second
        assert "#19 <span" not in second
