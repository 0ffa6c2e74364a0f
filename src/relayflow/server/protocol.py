"""uvicorn's httptools protocol with the edges bounded: what one client may make us hold.

uvicorn bounds neither the request line nor the headers (a 100 MB header was read whole
and stored), starts no timer before the first request of a connection, and waits for a
body that never comes. `guarded_protocol(config)` is the protocol class `relayflow up`
and `relayflow server` give uvicorn:

- request line longer than `max_url_bytes`: 414; more than `max_headers` headers, or a
  head (request line and headers) above `max_header_bytes`: 431, checked while the head
  arrives, so an endless header costs at most one read buffer beyond the limit;
- the head not complete `header_timeout` seconds after the connection opened or the
  request's first byte: 408 (between requests, uvicorn's keep-alive timeout closes an
  idle connection); no body bytes for `body_timeout` seconds while the app waits: 408;
- the connection cap is uvicorn's `limit_concurrency` (503 for requests beyond it).

Each refusal answers `connection: close` and closes the connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from relayflow.config import Config


class Refusal(Exception):
    """Raised from a parser callback: answer `status` with `message` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class GuardedProtocol(HttpToolsProtocol):
    limits: Config  # its max_url_bytes, max_header_bytes, max_headers, *_timeout

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._url_bytes = 0
        self._head_bytes = 0  # exact: request line and complete headers
        self._pending_bytes = 0  # received while the head is incomplete (an upper bound)
        self._header_count = 0
        self._timer: asyncio.TimerHandle | None = None
        self._first_request = True  # its head timer runs from the connection's opening

    # the connection
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        if not self._in_head:
            self._arm(self.limits.body_timeout, self._body_timed_out)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            refusal = exc.__context__
            if isinstance(refusal, Refusal):
                self._refuse(refusal.status, refusal.message)
                return
            self._disarm()
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            self._disarm()
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._in_head and self.parser is not None:
            self._pending_bytes += len(data)
            if self._pending_bytes > self.limits.max_header_bytes:
                self._refuse(431, self._head_too_large())

    # parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._url_bytes = self._head_bytes = self._pending_bytes = self._header_count = 0
        if not self._first_request:
            self._arm(self.limits.header_timeout, self._head_timed_out)
        self._first_request = False

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_url_bytes:
            raise Refusal(
                414,
                f"the request line is longer than {self.limits.max_url_bytes} bytes;"
                " send long values in the body",
            )
        self._head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._head_bytes += len(name) + len(value) + 4
        if self._header_count > self.limits.max_headers:
            raise Refusal(431, f"the request has more than {self.limits.max_headers} headers")
        if self._head_bytes > self.limits.max_header_bytes:
            raise Refusal(431, self._head_too_large())
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._arm(self.limits.body_timeout, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # timers
    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_timed_out(self) -> None:
        self._timer = None
        if self._in_head:
            self._refuse(
                408, f"the request's headers did not arrive within {self.limits.header_timeout:g}s"
            )

    def _body_timed_out(self) -> None:
        self._timer = None
        if self.cycle is None or not self.cycle.more_body or self.cycle.response_started:
            return
        if self.flow.read_paused:  # the app has not read what came; not the client's fault
            self._arm(self.limits.body_timeout, self._body_timed_out)
            return
        self._refuse(
            408, f"no part of the request's body arrived for {self.limits.body_timeout:g}s"
        )

    def _head_too_large(self) -> str:
        return (
            f"the request line and headers are larger than {self.limits.max_header_bytes}"
            " bytes; send fewer or shorter headers"
        )

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        body = message.encode()
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: " + str(len(body)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the app's own answer goes nowhere now
            self.cycle.message_event.set()
        self.transport.close()


def guarded_protocol(config: Config) -> type[GuardedProtocol]:
    """The protocol class to give uvicorn (`http=`), bound to the limits in `config`."""
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": config})
