"""A fast HTTP sink for the end-to-end benchmark: answers every request 200 with a small
JSON body, counts them, and tells `GET /_stats` how many arrived and when the last one
did (time.time()). One asyncio protocol on uvloop, so it is not what limits delivery.

    .venv/bin/python bench/sink.py PORT
"""

from __future__ import annotations

import asyncio
import sys
import time

import orjson
import uvloop

OK = b'{"ok":true}'


class Sink(asyncio.Protocol):
    received = 0
    last = 0.0
    first = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            body = OK
            if head.startswith("GET /_stats"):
                body = orjson.dumps(
                    {"received": Sink.received, "first": Sink.first, "last": Sink.last}
                )
            else:
                Sink.received += 1
                Sink.last = time.time()
                Sink.first = Sink.first or Sink.last
            self.transport.write(  # type: ignore[attr-defined]
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Sink, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
