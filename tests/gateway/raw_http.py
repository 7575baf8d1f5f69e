"""Raw HTTP/1.1 over one TCP connection, for bytes no HTTP client would send (a header
that is not UTF-8, a NUL, a body cut off) and for what happens to the connection after."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["RawAnswer", "RawConnection", "request_bytes"]

ANSWER_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def request_bytes(
    method: str, path: str, headers: dict[str, bytes] | None = None, body: bytes = b""
) -> bytes:
    """A request with `Host`, the given headers as raw bytes, and a `Content-Length`."""
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: test"]
    lines += [name.encode() + b": " + value for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class RawConnection:
    """One keep-alive connection: send bytes, read one answer at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int | None) -> RawConnection:
        assert port is not None, "the test server is not started"
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self) -> RawAnswer:
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return RawAnswer(int(status_line.split()[1]), headers, body)

    async def closed_by_server(self) -> bool:
        """True once the server has closed its side (EOF within the timeout)."""
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            return await self.reader.read(1) == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
