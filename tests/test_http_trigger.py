"""Webhooks: what an event holds, what is refused (and stored nowhere), and responses."""

from __future__ import annotations

import httpx
import pytest

ECHO = """\
name: {name}
trigger:
  http:
    path: {path}
{extra}
steps:
  - name: shape
    uses: util.echo
    with:
      value: "{{{{ steps.trigger.event.body }}}}"
"""


def deploy_echo(rf, name="hook", path="signup", extra=""):
    rf.deploy_text(name, ECHO.format(name=name, path=path, extra=extra))


def event_count(rf) -> int:
    return len(rf.runs())


def test_a_json_webhook_becomes_an_event_and_a_run(relayflow):
    deploy_echo(relayflow)
    relayflow.start()
    answer = httpx.post(
        f"{relayflow.url}/hooks/signup?ref=ad&ref=mail",
        json={"email": "ann@example.com"},
        headers={"X-Source": "Test"},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True and body["event_id"] and body["run_id"]
    (run,) = relayflow.wait_runs(1)
    assert run["id"] == body["run_id"]
    shown = relayflow.inspect(run["id"])
    event = shown["event"]
    assert event["method"] == "POST"
    assert event["path"] == "/signup"
    assert event["query"] == {"ref": ["ad", "mail"]}
    assert event["headers"]["x-source"] == "Test"
    assert event["body"] == {"email": "ann@example.com"}
    assert event["client_ip"] == "127.0.0.1"
    assert event["url"].endswith("/hooks/signup?ref=ad&ref=mail")
    assert shown["steps"][0]["return_value"] == {"email": "ann@example.com"}


def test_form_text_and_binary_bodies(sqlite_relayflow):
    rf = sqlite_relayflow
    deploy_echo(rf)
    rf.start()
    assert httpx.post(f"{rf.url}/hooks/signup", data={"a": "1", "b": "2"}).status_code == 200
    assert (
        httpx.put(
            f"{rf.url}/hooks/signup", content="plain words", headers={"content-type": "text/plain"}
        ).status_code
        == 200
    )
    assert (
        httpx.post(
            f"{rf.url}/hooks/signup",
            content=b"\xff\xfe\x00",
            headers={"content-type": "application/octet-stream"},
        ).status_code
        == 200
    )
    assert (
        httpx.post(
            f"{rf.url}/hooks/signup", files={"f": ("a.csv", b"x,y\n")}, data={"note": "hi"}
        ).status_code
        == 200
    )
    runs = rf.wait_runs(4)
    events = {}
    for run in runs:
        event = rf.inspect(run["id"])["event"]
        events[event["headers"]["content-type"].split(";")[0]] = event
    assert events["application/x-www-form-urlencoded"]["body"] == {"a": "1", "b": "2"}
    assert events["text/plain"]["body"] == "plain words"
    assert events["text/plain"]["method"] == "PUT"
    binary = events["application/octet-stream"]
    assert binary["body"] is None and binary["body_base64"] == "//4A"
    multipart = events["multipart/form-data"]["body"]
    assert multipart["note"] == "hi"
    assert multipart["f"] == {"filename": "a.csv", "content_type": "text/csv", "size": 4}


def test_bad_requests_get_a_clear_4xx_and_nothing_is_stored(relayflow):
    deploy_echo(relayflow)
    relayflow.deploy_text("paused", ECHO.format(name="paused", path="paused", extra=""))
    relayflow.cli("workflows", "pause", "paused")
    relayflow.start()
    url = f"{relayflow.url}/hooks"
    cases = [
        (
            httpx.post(f"{url}/nowhere", json={}),
            404,
            "no active workflow listens on /hooks/nowhere",
        ),
        (httpx.post(f"{url}/paused", json={}), 404, "(paused)"),
        (
            httpx.post(
                f"{url}/signup", content=b'{"email": ', headers={"content-type": "application/json"}
            ),
            400,
            "not valid JSON",
        ),
        (
            httpx.post(
                f"{url}/signup",
                content=b"[" * 100 + b"]" * 100,
                headers={"content-type": "application/json"},
            ),
            400,
            "nested deeper than 64",
        ),
        (
            httpx.post(
                f"{url}/signup",
                content=b"x" * (1024 * 1024 + 1),
                headers={"content-type": "text/plain"},
            ),
            413,
            "accepts 1048576",
        ),
    ]
    for answer, status, message in cases:
        assert answer.status_code == status, answer.text
        assert message in answer.json()["error"]
    assert event_count(relayflow) == 0

    # A body without Content-Length is cut off at the limit too.
    def chunks():
        for _ in range(20):
            yield b"y" * 65536

    streamed = httpx.post(f"{url}/signup", content=chunks())
    assert streamed.status_code == 413
    # ... and the server keeps serving.
    assert httpx.post(f"{url}/signup", json={"ok": 1}).status_code == 200
    relayflow.wait_runs(1)
    assert event_count(relayflow) == 1


def test_token_auth(sqlite_relayflow):
    rf = sqlite_relayflow
    deploy_echo(rf, extra="    auth: token\n    token: s3cret-token")
    rf.start()
    url = f"{rf.url}/hooks/signup"
    assert httpx.post(url, json={}).status_code == 401
    assert httpx.post(url, json={}, headers={"authorization": "Bearer wrong"}).status_code == 401
    ok = httpx.post(url, json={}, headers={"authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200
    assert len(rf.wait_runs(1)) == 1


RESPONDER = """\
name: responder
trigger:
  http:
    path: quote
    respond: from_workflow
    response_timeout: 5s
steps:
  - name: price
    uses: util.echo
    with:
      value: "{{ steps.trigger.event.body.qty * 3 }}"
  - name: answer
    uses: http.respond
    with:
      status: 201
      headers: {x-quote: "yes"}
      body: {total: "{{ steps.price.$return_value }}"}
  - name: after
    uses: util.echo
    with: {value: done}
"""


def test_respond_from_workflow_answers_the_caller(relayflow):
    relayflow.deploy_text("responder", RESPONDER)
    relayflow.deploy_text(
        "silent",
        RESPONDER.replace("responder", "silent")
        .replace("path: quote", "path: silent")
        .split("  - name: answer")[0],
    )
    relayflow.start()
    answer = httpx.post(f"{relayflow.url}/hooks/quote", json={"qty": 4}, timeout=10)
    assert answer.status_code == 201
    assert answer.headers["x-quote"] == "yes"
    assert answer.json() == {"total": 12}
    silent = httpx.post(f"{relayflow.url}/hooks/silent", json={"qty": 1}, timeout=10)
    assert silent.status_code == 502
    assert "without an http.respond step" in silent.json()["error"]
    assert len(relayflow.wait_runs(2)) == 2


@pytest.mark.parametrize("method", ["GET", "DELETE", "PATCH"])
def test_any_method_is_accepted(sqlite_relayflow, method):
    deploy_echo(sqlite_relayflow)
    sqlite_relayflow.start()
    answer = httpx.request(method, f"{sqlite_relayflow.url}/hooks/signup?x=1")
    assert answer.status_code == 200
    (run,) = sqlite_relayflow.wait_runs(1)
    event = sqlite_relayflow.inspect(run["id"])["event"]
    assert event["method"] == method and event["query"] == {"x": "1"}


def test_a_worker_in_another_process_answers_the_waiting_request(pg_url, tmp_path):
    from conftest import Relayflow

    home = tmp_path / "home"
    home.mkdir()
    rf = Relayflow(home, pg_url)
    try:
        rf.deploy_text("responder", RESPONDER)
        rf.deploy_text(
            "silent",
            RESPONDER.replace("responder", "silent")
            .replace("path: quote", "path: silent")
            .split("  - name: answer")[0],
        )
        rf.start("server")
        rf.spawn("worker")
        answer = httpx.post(f"{rf.url}/hooks/quote", json={"qty": 2}, timeout=10)
        assert answer.status_code == 201 and answer.json() == {"total": 6}
        assert answer.headers["x-quote"] == "yes"
        silent = httpx.post(f"{rf.url}/hooks/silent", json={"qty": 1}, timeout=10)
        assert silent.status_code == 502
        rf.wait_runs(2)
    finally:
        rf.stop_all()
