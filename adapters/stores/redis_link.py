"""The wallet's hot path to one Redis node: a few connections, pipelined across callers.

Every command any coroutine sends in one turn of the event loop goes out in one write
per connection, and the replies are matched back in order: hundreds of concurrent
wallet calls cost a few system calls per turn, not several each. Commands are packed
and replies parsed by hiredis (the C parser redis.asyncio uses too): about 3 µs of CPU
per command here, against some 14 µs through redis.asyncio's own pipeline, whose Python
command packer alone takes 6. On the wallet's hot path that difference decides whether
Redis keeps up with the embedded store. Everything off the hot path (start-up checks,
loading functions, `verify`) uses redis.asyncio.

A lost connection fails every command in flight with `LinkError`: their outcome is
unknown, which the store answers as retryable (`StorageUnavailable`), never as a
refusal. The next command reconnects.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import hiredis

__all__ = [
    "Endpoint",
    "Link",
    "LinkError",
    "NodeLink",
    "RaisingCalls",
    "ReplyError",
    "RespConnection",
    "replies_of",
]

ReplyError = hiredis.ReplyError
"""An error reply (`-ERR ...`); returned by `call_raw`, raised by `call`."""


async def replies_of(sent: Iterable[Awaitable[Any]]) -> list[Any]:
    """The replies of commands already sent (pipelined), in order; an error reply raises."""
    replies = []
    for future in sent:
        reply = await future
        if isinstance(reply, ReplyError):
            raise reply
        replies.append(reply)
    return replies


CONNECT_TIMEOUT_S = 5.0
CONNECTIONS_PER_NODE = 16
READ_BUFFER_BYTES = 1 << 20


class LinkError(ConnectionError):
    """The connection failed: the outcome of the commands in flight is unknown."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    db: int = 0
    username: str | None = None
    password: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class Link(Protocol):
    """Commands to one server or a cluster; `key` routes a command to its slot's master
    (one server ignores it). Several keys in one command must share a hash tag."""

    @property
    def masters(self) -> list[Endpoint]:
        """Every master (one server: itself)."""
        ...

    def send(self, key: str | bytes, *args: Any) -> Awaitable[Any]:
        """Queue `args` now (so commands sent one after another share one write) and
        return what resolves to the reply, an error reply as a `ReplyError` value."""
        ...

    async def call_raw(self, key: str | bytes, *args: Any) -> Any:
        """`await send(...)`."""
        ...

    async def call(self, key: str | bytes, *args: Any) -> Any:
        """The reply to `args`; an error reply raises `ReplyError`."""
        ...

    async def ping(self) -> None:
        """PING every master; raises `LinkError` or `ReplyError` if one does not answer."""
        ...

    async def close(self) -> None: ...


class RespConnection(asyncio.Protocol):
    """One TCP connection speaking RESP2, with any number of commands in flight."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = hiredis.Reader()
        self._waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._outgoing: list[bytes] = []
        self._flush_scheduled = False
        self._lost: BaseException | None = None
        self._loop = asyncio.get_running_loop()

    # -- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        parser, waiting = self._parser, self._waiting
        parser.feed(data)
        while (reply := parser.gets()) is not False:
            future = waiting.popleft()
            if not future.done():  # a caller that gave up (timed out) still owns a reply
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = LinkError(f"connection to Redis lost: {exc or 'closed'}")
        self._transport = None
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(self._lost)

    # -- sending -------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        return self._transport is not None and self._lost is None

    def send(self, packed: bytes) -> asyncio.Future[Any]:
        """Queue one packed command; its reply (an error reply as `ReplyError`) comes back
        through the future. The write happens once per loop turn for every caller."""
        if self._lost is not None or self._transport is None:
            raise LinkError("connection to Redis is closed")
        future = self._loop.create_future()
        self._waiting.append(future)
        self._outgoing.append(packed)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_scheduled = False
        outgoing, self._outgoing = self._outgoing, []
        if self._transport is not None and outgoing:
            self._transport.write(b"".join(outgoing))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def connect(endpoint: Endpoint) -> RespConnection:
    """Open and prepare a connection (AUTH, SELECT); raises `LinkError` if it cannot."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            _, connection = await loop.create_connection(
                RespConnection, endpoint.host, endpoint.port
            )
            setup: list[tuple[Any, ...]] = []
            if endpoint.password is not None:
                user = () if endpoint.username is None else (endpoint.username,)
                setup.append(("AUTH", *user, endpoint.password))
            if endpoint.db:
                setup.append(("SELECT", endpoint.db))
            for command in setup:
                reply = await connection.send(hiredis.pack_command(command))
                if isinstance(reply, ReplyError):
                    connection.close()
                    raise LinkError(f"Redis at {endpoint.address} refused {command[0]}: {reply}")
    except (OSError, TimeoutError) as exc:
        raise LinkError(f"cannot connect to Redis at {endpoint.address}: {exc!r}") from exc
    return connection


class RaisingCalls:
    """`call` from a link's `call_raw`: the reply, or an error reply raised."""

    async def call_raw(self, key: str | bytes, *args: Any) -> Any:
        raise NotImplementedError

    async def call(self, key: str | bytes, *args: Any) -> Any:
        """The reply; an error reply raises `ReplyError`."""
        reply = await self.call_raw(key, *args)
        if isinstance(reply, ReplyError):
            raise reply
        return reply


class NodeLink(RaisingCalls):
    """Commands to one Redis server over a few pipelined connections, reconnecting lazily.

    Several connections, not one: with `appendfsync always` Redis fsyncs once per turn
    of its event loop, and per turn it reads at most 16 KB from each connection. Spread
    over `connections`, one turn of ours (hundreds of wallet steps, a couple of KB each)
    reaches Redis in one of its turns and costs one fsync, not one per 16 KB.
    """

    def __init__(self, endpoint: Endpoint, connections: int = CONNECTIONS_PER_NODE) -> None:
        assert connections >= 1
        self.endpoint = endpoint
        self._pool: list[RespConnection | None] = [None] * connections
        self._connecting: dict[int, asyncio.Future[RespConnection]] = {}
        self._next = 0

    @property
    def masters(self) -> list[Endpoint]:
        return [self.endpoint]

    def send(self, key: str | bytes, *args: Any) -> Awaitable[Any]:
        """The reply's future (`key` is unused); while disconnected, a task that connects
        first. Commands go to the connections in turn."""
        index = self._next
        self._next = (index + 1) % len(self._pool)
        connection = self._pool[index]
        if connection is not None and connection.usable:
            return connection.send(hiredis.pack_command(args))
        return asyncio.ensure_future(self._send_connected(index, [args]))

    def send_together(self, *commands: tuple[Any, ...]) -> Awaitable[Any]:
        """Several commands on one connection, back to back (`ASKING` and its command);
        resolves to the last one's reply."""
        index = self._next
        self._next = (index + 1) % len(self._pool)
        return asyncio.ensure_future(self._send_connected(index, list(commands)))

    async def _send_connected(self, index: int, commands: list[tuple[Any, ...]]) -> Any:
        connection = self._pool[index]
        if connection is None or not connection.usable:
            connection = await self._reconnect(index)
        sent = [connection.send(hiredis.pack_command(args)) for args in commands]
        for future in sent[:-1]:
            await future
        return await sent[-1]

    async def call_raw(self, key: str | bytes, *args: Any) -> Any:
        """The reply, an error reply included (as a `ReplyError` value); `key` is unused."""
        return await self.send(key, *args)

    async def ping(self) -> None:
        await self.call(b"", "PING")

    async def _reconnect(self, index: int) -> RespConnection:
        """One connection attempt per pool slot, however many callers wait for it."""
        attempt = self._connecting.get(index)
        if attempt is None:
            attempt = self._connecting[index] = asyncio.ensure_future(connect(self.endpoint))
            attempt.add_done_callback(lambda done: self._connected(index, done))
        return await asyncio.shield(attempt)

    def _connected(self, index: int, attempt: asyncio.Future[RespConnection]) -> None:
        del self._connecting[index]
        if not attempt.cancelled() and attempt.exception() is None:
            self._pool[index] = attempt.result()

    async def close(self) -> None:
        for index, connection in enumerate(self._pool):
            if connection is not None:
                connection.close()
                self._pool[index] = None
