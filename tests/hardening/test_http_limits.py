"""What one client may make the server hold: the head's size, slow clients, connections.

Raw sockets on 127.0.0.1 against a real `relayflow up` with short timeouts and a small
connection cap (the defaults are in README's configuration section).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from conftest import Relayflow

from .conftest import start_server

TIMEOUT = 2  # RELAYFLOW_HEADER_TIMEOUT and RELAYFLOW_BODY_TIMEOUT here
CAP = 30  # RELAYFLOW_MAX_CONNECTIONS here
BODY_LIMIT = 100_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relayflow]:
    env = {
        "RELAYFLOW_HEADER_TIMEOUT": str(TIMEOUT),
        "RELAYFLOW_BODY_TIMEOUT": str(TIMEOUT),
        "RELAYFLOW_MAX_CONNECTIONS": str(CAP),
        "RELAYFLOW_BODY_LIMIT": str(BODY_LIMIT),
    }
    rf = start_server(tmp_path_factory.mktemp("limits") / "home", env)
    yield rf
    rf.stop_all()


def connect(rf: Relayflow) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", rf.port), timeout=TIMEOUT + 5)
    return sock


def answer(sock: socket.socket) -> tuple[int, str]:
    """The status and body of the response on `sock`, read until the server closes it."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    sock.close()
    assert data, "the server closed the connection without an answer"
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode(errors="replace")


def send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send what the server may stop reading (it answers and closes mid-way)."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def events(rf: Relayflow) -> int:
    return len(rf.runs("open"))


def test_a_request_line_over_8_kib_is_414(server: Relayflow):
    sock = connect(server)
    send_quietly(sock, b"GET /hooks/open?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    status, body = answer(sock)
    assert status == 414 and "request line is longer than 8192 bytes" in body


def test_more_than_100_headers_is_431(server: Relayflow):
    sock = connect(server)
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
    send_quietly(sock, b"POST /hooks/open HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    status, body = answer(sock)
    assert status == 431 and "more than 100 headers" in body


def test_an_endless_header_is_refused_while_it_arrives_and_stores_nothing(server: Relayflow):
    before = events(server)
    sock = connect(server)
    send_quietly(sock, b"POST /hooks/open HTTP/1.1\r\nHost: x\r\nX-Big: ")
    sent = 0
    for _ in range(160):  # up to 10 MB; the server answers after about 64 KiB
        try:
            sock.sendall(b"b" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += 65536
    status, body = answer(sock)
    assert status == 431 and "larger than 65536 bytes" in body
    assert sent < 10 * 1024 * 1024
    assert httpx.post(f"{server.url}/hooks/open", json={"after": 1}).status_code == 200
    server.wait_runs(before + 1, workflow="open")
    assert events(server) == before + 1


def test_headers_count_against_the_event_size_limit(server: Relayflow):
    headers = {f"x-pad-{i}": "p" * 1000 for i in range(60)}  # about 61 KB
    refused = httpx.post(
        f"{server.url}/hooks/open", content=b"x" * 50_000, headers=headers, timeout=10
    )
    assert refused.status_code == 413
    assert f"accepts {BODY_LIMIT} bytes of body and headers together" in refused.json()["error"]
    fits = httpx.post(f"{server.url}/hooks/open", content=b"x" * 30_000, headers=headers)
    assert fits.status_code == 200


def test_a_client_that_stops_sending_headers_gets_408(server: Relayflow):
    idle = connect(server)
    slow = connect(server)
    slow.sendall(b"POST /hooks/open HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    for sock in (slow, idle):
        status, body = answer(sock)
        assert status == 408 and f"did not arrive within {TIMEOUT}s" in body


def test_a_kept_alive_connection_that_stops_sending_its_next_headers_gets_408(
    server: Relayflow,
):
    sock = connect(server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = b""
    while b"\r\n\r\n" not in first or not first.endswith(b"}"):
        first += sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 200")
    sock.sendall(b"POST /hooks/open HTTP/1.1\r\nHost: x\r\n")
    status, body = answer(sock)
    assert status == 408 and "headers did not arrive" in body


def test_a_client_that_stops_sending_the_body_gets_408_and_stores_nothing(server: Relayflow):
    before = events(server)
    sock = connect(server)
    sock.sendall(
        b"POST /hooks/open HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"a": '
    )
    status, body = answer(sock)
    assert status == 408 and "body arrived" in body
    assert events(server) == before


def test_over_the_connection_cap_is_503_and_served_again_after_the_408s(server: Relayflow):
    held = [connect(server) for _ in range(CAP - 2)]
    for sock in held:
        sock.sendall(b"POST /hooks/open HTTP/1.1\r\nHost: x\r\n")  # and then nothing
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/healthz").status_code == 200  # the last place under the cap
        refused = httpx.get(f"{server.url}/healthz")  # a second connection: over the cap
        assert refused.status_code == 503
    for sock in held:
        assert answer(sock)[0] == 408
    deadline = time.monotonic() + 5
    while httpx.get(f"{server.url}/healthz").status_code != 200:
        assert time.monotonic() < deadline, "the server did not take connections again"
