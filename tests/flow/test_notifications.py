"""Failure notifications and `notify.send`, delivered to a local SMTP server (aiosmtpd) and
a local JSON webhook receiver through Apprise URLs, from a real `relayflow up`."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from conftest import Relayflow, free_port
from receiver import Receiver


class Mailbox:
    """An SMTP server on 127.0.0.1 that keeps every message it is sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=relayflow@example.com&to={to}&mode=insecure"


def text_of(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    plain = [p for p in parts if p.get_content_type() == "text/plain"]
    return plain[0].get_payload(decode=True).decode()


def wait_for(found: Callable[[], list], count: int, timeout: float = 20) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(found()) >= count:
            return found()
        time.sleep(0.1)
    raise AssertionError(f"expected {count}, got {found()}")


def posted(receiver: Receiver, path: str) -> list[dict]:
    return [json.loads(r["body"]) for r in receiver.requests if r["path"] == path]


@pytest.fixture
def outside() -> Iterator[tuple[Mailbox, Receiver]]:
    mailbox = Mailbox()
    mailbox.controller.start()
    with Receiver() as receiver:
        yield mailbox, receiver
    mailbox.controller.stop()


def flaky(name: str, settings: str) -> str:
    return (
        f"name: {name}\ntrigger: {{http: {{path: {name}}}}}\n{settings}"
        "steps:\n  - name: check\n    uses: util.echo\n"
        '    with: {value: "{{ steps.trigger.event.body.order.id }}"}\n'
    )


def post(rf: Relayflow, path: str, body: dict) -> str:
    return httpx.post(f"{rf.url}/hooks/{path}", json=body).json()["run_id"]


def test_failures_are_told_once_per_period_with_a_count_then_recovery(
    sqlite_relayflow: Relayflow, outside: tuple[Mailbox, Receiver]
):
    mailbox, receiver = outside
    rf = sqlite_relayflow
    rf.env["RELAYFLOW_NOTIFY_URLS"] = f"json://{receiver.url.split('://')[1]}/default"
    hook = f"json://{receiver.url.split('://')[1]}/alerts"
    rf.deploy_text(
        "orders",
        flaky(
            "orders",
            "settings:\n  notify:\n    on: [failure, recovered]\n    every: 3s\n"
            f"    to: ['{hook}', '{mailbox.url('ops@example.com')}']\n",
        ),
    )
    rf.deploy_text("plain", flaky("plain", ""))
    rf.start()

    failed = [post(rf, "orders", {}) for _ in range(4)]
    for run_id in failed:
        assert rf.wait_finished(run_id)["status"] == "failed"

    alert = wait_for(lambda: posted(receiver, "/alerts"), 1)[0]
    assert alert["title"] == "relayflow: orders failed"
    assert "Workflow: orders (version 1)" in alert["message"]
    assert "Step: check" in alert["message"]
    assert "steps.trigger.event.body.order" in alert["message"]  # the error names the path
    told = [r for r in failed if f"/runs/{r}" in alert["message"]]
    assert len(told) == 1  # the link to the run that failed first
    mail = wait_for(lambda: mailbox.messages, 1)[0]
    assert mail["Subject"] == "relayflow: orders failed" and mail["To"] == "ops@example.com"
    assert f"/runs/{told[0]}" in text_of(mail)

    # The other three failures fell into the period: one summary with their count.
    summary = wait_for(lambda: posted(receiver, "/alerts"), 2)[1]
    assert summary["title"] == "relayflow: orders failed 3 more times"
    assert any(f"/runs/{r}" in summary["message"] for r in failed if r != told[0])
    assert len(wait_for(lambda: mailbox.messages, 2)) == 2

    good = post(rf, "orders", {"order": {"id": 7}})
    assert rf.wait_finished(good)["status"] == "succeeded"
    recovered = wait_for(lambda: posted(receiver, "/alerts"), 3)[2]
    assert recovered["title"] == "relayflow: orders recovered"
    assert f"/runs/{good}" in recovered["message"]

    # A workflow without settings.notify tells the installation's default URLs.
    plain = post(rf, "plain", {})
    assert rf.wait_finished(plain)["status"] == "failed"
    told = wait_for(lambda: posted(receiver, "/default"), 1)[0]
    assert told["title"] == "relayflow: plain failed" and f"/runs/{plain}" in told["message"]
    assert len(posted(receiver, "/alerts")) == 3


SEND = """\
name: tell
trigger: {http: {path: tell}}
steps:
  - name: tell
    uses: notify.send
    with:
      to: "{{ steps.trigger.event.body.to }}"
      title: "Order {{ steps.trigger.event.body.id }}"
      body: "Order {{ steps.trigger.event.body.id }} shipped"
"""


def test_notify_send_reaches_email_and_webhooks_and_names_a_bad_url(
    sqlite_relayflow: Relayflow, outside: tuple[Mailbox, Receiver]
):
    mailbox, receiver = outside
    rf = sqlite_relayflow
    rf.deploy_text("tell", SEND)
    rf.start()
    hook = f"json://{receiver.url.split('://')[1]}/shipped"
    sent = post(rf, "tell", {"id": 12, "to": [hook, mailbox.url("ann@example.com")]})
    run = rf.wait_finished(sent)
    assert run["status"] == "succeeded", run
    assert len(run["steps"][0]["return_value"]["sent"]) == 2
    assert posted(receiver, "/shipped")[0]["message"] == "Order 12 shipped"
    mail = wait_for(lambda: mailbox.messages, 1)[0]
    assert mail["Subject"] == "Order 12" and text_of(mail).strip() == "Order 12 shipped"

    bad = rf.wait_finished(post(rf, "tell", {"id": 13, "to": ["nosuch://secret-token"]}))
    assert bad["status"] == "failed"
    message = bad["steps"][0]["error"]["message"]
    assert "not an Apprise URL: nosuch://…" in message and "secret-token" not in message


def test_a_mail_server_that_never_answers_holds_up_no_run(sqlite_relayflow: Relayflow):
    rf = sqlite_relayflow
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        rf.deploy_text(
            "orders",
            flaky(
                "orders",
                "settings:\n  notify:\n    on: [failure, recovered]\n    every: 0s\n"
                f"    to: ['mailto://127.0.0.1:{port}?from=a@example.com&to=b@example.com"
                "&mode=insecure']\n",
            ),
        )
        rf.start()
        failed = [post(rf, "orders", {}) for _ in range(3)]
        good = post(rf, "orders", {"order": {"id": 1}})
        # Each run is recorded, finished, while the messages about them wait on the server.
        assert [rf.wait_finished(r, timeout=15)["status"] for r in failed] == ["failed"] * 3
        assert rf.wait_finished(good, timeout=15)["status"] == "succeeded"


def test_recovery_is_told_after_a_restart(
    sqlite_relayflow: Relayflow, outside: tuple[Mailbox, Receiver]
):
    _mailbox, receiver = outside
    rf = sqlite_relayflow
    hook = f"json://{receiver.url.split('://')[1]}/alerts"
    rf.deploy_text(
        "orders",
        flaky("orders", f"settings:\n  notify: {{on: [failure, recovered], to: ['{hook}']}}\n"),
    )
    rf.start()
    assert rf.wait_finished(post(rf, "orders", {}))["status"] == "failed"
    wait_for(lambda: posted(receiver, "/alerts"), 1)
    rf.stop_all()  # the new processes have not seen the failure: they ask the database
    rf.start()
    good = post(rf, "orders", {"order": {"id": 1}})
    assert rf.wait_finished(good)["status"] == "succeeded"
    recovered = wait_for(lambda: posted(receiver, "/alerts"), 2)[1]
    assert recovered["title"] == "relayflow: orders recovered"
    assert f"/runs/{good}" in recovered["message"]
