"""A small HTTP server on 127.0.0.1 that records what workflows send it.

Tests point `http.request` steps at it to count executions, to fail on purpose, or to be
slow, and read back what arrived.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.counts: Counter[str] = Counter()
        self.fail_first: dict[str, int] = {}  # key -> how many requests to answer 503
        self.delay = 0.0
        self.set_cookie: str | None = None  # a Set-Cookie header on every answer
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                key = query.get("key", "")
                with receiver._lock:
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                    receiver.counts[key] += 1
                    attempt = receiver.counts[key]
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "query": query,
                            "body": body.decode() or None,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                        }
                    )
                try:
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    status = 503 if attempt <= receiver.fail_first.get(key, 0) else 200
                    payload = json.dumps({"attempt": attempt, "key": key}).encode()
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    if receiver.set_cookie:
                        self.send_header("set-cookie", receiver.set_cookie)
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1

        class Server(ThreadingHTTPServer):
            # Workers open up to `concurrency` connections at once each; the default
            # backlog of 5 makes the kernel drop SYNs and the clients wait on retransmits.
            request_queue_size = 256

            def handle_error(self, request, client_address) -> None:
                pass  # a client killed mid-request (crash tests) is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
