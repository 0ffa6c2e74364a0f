"""Messages between `relayflow up` and each of its worker processes, over a socket pair.

The server tells a worker to claim now (a run was committed) and asks it for its metrics;
a worker tells the server that an answer for a waiting webhook request is in the
database, and sends its metrics. A frame is one byte of kind, four of length, then the
payload. End of file means the other side is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Callable

log = logging.getLogger(__name__)

WAKE = b"W"  # server -> worker: runs are ready to claim
METRICS = b"M"  # server -> worker: send your metrics
ANSWERED = b"A"  # worker -> server: payload is a run id whose answer is committed
SNAPSHOT = b"S"  # worker -> server: payload is the worker's metrics (JSON)

_HEADER = struct.Struct("!cI")


class Channel:
    """One end of the pair: `send` frames, `on_message(kind, payload)` hears them, and
    `on_closed()` runs once when the other side has gone."""

    def __init__(
        self,
        sock: socket.socket,
        on_message: Callable[[bytes, bytes], None],
        on_closed: Callable[[], None] = lambda: None,
    ) -> None:
        self._sock = sock
        self._on_message = on_message
        self._on_closed = on_closed
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None

    async def open(self) -> None:
        reader, self._writer = await asyncio.open_unix_connection(sock=self._sock)
        self._reading = asyncio.create_task(self._read(reader))

    @property
    def open_(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        """Queue one frame (never blocks; dropped when the other side is gone)."""
        if self.open_:
            assert self._writer is not None
            self._writer.write(_HEADER.pack(kind, len(payload)) + payload)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                kind, size = _HEADER.unpack(await reader.readexactly(_HEADER.size))
                payload = await reader.readexactly(size) if size else b""
                try:
                    self._on_message(kind, payload)
                except Exception:  # noqa: BLE001 - one bad message must not end the channel
                    log.exception("handling a %r message failed", kind)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.close()
            self._on_closed()

    def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        if self._reading is not None and self._reading is not asyncio.current_task():
            self._reading.cancel()
