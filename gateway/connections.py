"""Limits on every client connection, so slow or idle clients cannot hold the gateway.

aiohttp bounds neither how long a client may take to send a request head nor how long a
body may trickle in, and its keep-alive timer defaults to an hour: idle and half-sent
sockets from one host once used up every descriptor and normal requests failed.

Each accepted connection is a `_Connection`: an asyncio protocol that wraps the one
aiohttp makes (`web.Server()`), forwards every event to it, and knows which phase the
connection is in. Each phase but one has a limit, counted from when the phase began:

    waiting for a head  accept, or the first byte after a keep-alive pause, until the
                        head is parsed                        header_read_timeout_s
    reading the body    head parsed (the handler starts) until the body is complete
                                                              body_read_timeout_s
    handling            body complete until the handler returns: no limit here
                        (`server.request_timeout_s` bounds the handler)
    idle                handler returned, until the next request's first byte
                                                              keepalive_idle_timeout_s

A connection past its phase's limit is closed. Connections in one phase are kept in
the order they entered it, and a phase has one limit, so the oldest expires first: a
sweep (every quarter of the shortest limit, at least once a second) looks only at the
expired front of each phase, with no timer per connection and nothing per chunk.

At `connections_max`, a new connection closes the connection that has waited longest
for a request (a head or idle) to make room, so a crowd of held-open sockets cannot lock
normal clients out; only when every connection is busy with a request is the new one
closed instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import cast

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

__all__ = [
    "DESCRIPTORS_RESERVED",
    "LIMITS",
    "ConnectionGuard",
    "ConnectionStats",
    "fit_to_descriptor_limit",
]

LIMITS = ("header_read", "body_read", "keepalive_idle", "connections_max")
"""The `limit` label of `gamegate_connections_closed_total`: which limit closed it."""
SWEEP_INTERVAL_MAX_S = 1.0
SWEEP_INTERVAL_MIN_S = 0.05
SWEEPS_PER_LIMIT = 4
"""A connection is closed at most a quarter of its shortest limit (or 1 s) late."""
_ServerHandler = Callable[[BaseRequest], Awaitable[StreamResponse]]
DESCRIPTORS_RESERVED = 256
"""Open files kept free beyond client connections: listening sockets, the wallet and its
WAL, the reporting store, logs, outbound HTTP clients."""


@dataclass(frozen=True, slots=True)
class ConnectionStats:
    """Read at scrape time by `gateway.metrics`."""

    open: int
    closed_by_limit: Mapping[str, int]


class _Phase:
    """Connections in one phase, oldest first, and the limit that closes them."""

    __slots__ = ("limit", "members", "timeout_s")

    def __init__(self, limit: str, timeout_s: float) -> None:
        self.limit = limit
        self.timeout_s = timeout_s
        self.members: dict[_Connection, None] = {}
        """Insertion-ordered: a dict is the cheapest ordered set with O(1) removal."""

    def expired(self, now_s: float) -> list[_Connection]:
        cutoff_s = now_s - self.timeout_s
        found = []
        for connection in self.members:
            if connection.since_s > cutoff_s:
                break
            found.append(connection)
        return found


class ConnectionGuard:
    """The limits for every connection accepted by `listen`; one per listening server."""

    def __init__(
        self,
        *,
        header_read_timeout_s: float,
        body_read_timeout_s: float,
        keepalive_idle_timeout_s: float,
        connections_max: int,
    ) -> None:
        assert min(header_read_timeout_s, body_read_timeout_s, keepalive_idle_timeout_s) > 0
        assert connections_max >= 1
        self.connections_max = connections_max
        self._head = _Phase("header_read", header_read_timeout_s)
        self._body = _Phase("body_read", body_read_timeout_s)
        self._handling = _Phase("", float("inf"))
        self._idle = _Phase("keepalive_idle", keepalive_idle_timeout_s)
        shortest_s = min(header_read_timeout_s, body_read_timeout_s, keepalive_idle_timeout_s)
        self.sweep_interval_s = min(
            SWEEP_INTERVAL_MAX_S, max(SWEEP_INTERVAL_MIN_S, shortest_s / SWEEPS_PER_LIMIT)
        )
        self._open = 0
        self._closed_by_limit = dict.fromkeys(LIMITS, 0)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._now_s: Callable[[], float] = time.monotonic
        """The loop's clock once listening: phases and the sweep read the same one."""
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._listeners: list[asyncio.Server] = []

    @property
    def aiohttp_keepalive_timeout_s(self) -> float:
        """For aiohttp's own keep-alive timer, left as a backstop: it closes a connection
        that has had no complete request head for this long, which is only ever after the
        limits here would have closed it (and counted why)."""
        return self._idle.timeout_s + self._head.timeout_s + 2 * self.sweep_interval_s

    def stats(self) -> ConnectionStats:
        return ConnectionStats(open=self._open, closed_by_limit=dict(self._closed_by_limit))

    async def listen(
        self,
        server: web.Server,
        host: str,
        port: int,
        *,
        backlog: int,
        make_protocol: Callable[[], asyncio.Protocol] | None = None,
        reuse_port: bool = False,
    ) -> asyncio.Server:
        """Serve `server` (an `AppRunner`'s, after `setup()`) on host:port under the limits.

        `make_protocol` makes aiohttp's protocol for each admitted connection: `server()`
        (aiohttp's own) unless given. Wraps `server.request_handler` to see each request
        start and end: aiohttp hands that attribute to every connection's handler when the
        handler is made, so it is wrapped once, before the first connection
        (tests/system/test_slow_clients.py fails if that ever changes: the slow body and
        the kept-alive connections would be closed as slow heads).

        `reuse_port` sets SO_REUSEPORT: several worker processes listen on one port and
        the kernel spreads new connections among them (`gateway.workers`).
        """
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            self._now_s = loop.time
            server.request_handler = self._observe_requests(server.request_handler)
            self._sweep_handle = loop.call_later(self.sweep_interval_s, self._sweep)
        protocol = make_protocol or server
        listener = await loop.create_server(
            lambda: _Connection(self, protocol),
            host,
            port,
            backlog=backlog,
            reuse_port=reuse_port,
        )
        self._listeners.append(listener)
        return listener

    def close(self) -> None:
        """Stop accepting and stop the sweep; open connections are the runner's to end."""
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
            self._sweep_handle = None

    # -- phases ---------------------------------------------------------------------

    def _admit(self, connection: _Connection) -> bool:
        if self._open >= self.connections_max and not self._evict_longest_waiting():
            self._closed_by_limit["connections_max"] += 1
            return False
        self._open += 1
        self._enter(connection, self._head)
        return True

    def _evict_longest_waiting(self) -> bool:
        """Close the connection that has waited longest for a request, if there is one."""
        oldest = [next(iter(phase.members)) for phase in (self._head, self._idle) if phase.members]
        if not oldest:
            return False
        self._cut(min(oldest, key=_since), "connections_max")
        return True

    def _enter(self, connection: _Connection, phase: _Phase) -> None:
        old = connection.phase
        if old is not None:
            del old.members[connection]
        connection.phase = phase
        connection.since_s = self._now_s()
        phase.members[connection] = None

    def _forget(self, connection: _Connection) -> None:
        """The connection ended; nothing if a limit had already closed (and counted) it."""
        phase = connection.phase
        if phase is not None:
            del phase.members[connection]
            connection.phase = None
            self._open -= 1

    def _cut(self, connection: _Connection, limit: str) -> None:
        self._forget(connection)
        self._closed_by_limit[limit] += 1
        transport = connection.transport
        assert transport is not None
        if limit == "keepalive_idle" and not transport.get_write_buffer_size():
            transport.close()  # a FIN between requests is how HTTP ends an idle connection
        else:
            transport.abort()  # nothing owed to a client past a limit: no lingering flush

    def _data_arrived(self, connection: _Connection) -> None:
        if connection.phase is self._idle:
            self._enter(connection, self._head)

    def _request_started(self, connection: _Connection, body: StreamReader) -> None:
        if connection.phase is None:
            return
        connection.body = body
        connection.handler_done = False
        self._enter(connection, self._handling if body.is_eof() else self._body)

    def _request_finished(self, connection: _Connection) -> None:
        """The handler returned. A body it did not read must still arrive in time."""
        phase = connection.phase
        if phase is None:
            return
        body = connection.body
        if phase is self._body and body is not None and not body.is_eof():
            connection.handler_done = True
            return
        connection.body = None
        self._enter(connection, self._idle)

    def _sweep(self) -> None:
        assert self._loop is not None
        now_s = self._now_s()
        self._sweep_handle = self._loop.call_at(now_s + self.sweep_interval_s, self._sweep)
        for phase in (self._head, self._idle):
            for connection in phase.expired(now_s):
                self._cut(connection, phase.limit)
        for connection in self._body.expired(now_s):
            body = connection.body
            if body is None or not body.is_eof():
                self._cut(connection, "body_read")
            elif connection.handler_done:
                connection.body = None
                self._enter(connection, self._idle)
            else:
                self._enter(connection, self._handling)

    def _observe_requests(self, handler: _ServerHandler) -> _ServerHandler:
        async def observed(request: BaseRequest) -> StreamResponse:
            transport = request.transport
            connection = transport.get_protocol() if transport is not None else None
            if not isinstance(connection, _Connection):
                return await handler(request)
            self._request_started(connection, request.content)
            try:
                return await handler(request)
            finally:
                self._request_finished(connection)

        return observed


def _since(connection: _Connection) -> float:
    return connection.since_s


_REFUSED = asyncio.Protocol()
"""What a connection refused at the cap forwards to: nothing happens."""


class _Connection(asyncio.Protocol):
    """One client connection: aiohttp's protocol inside, the guard's phase outside."""

    __slots__ = (
        "_guard", "_make_protocol", "_protocol",
        "body", "handler_done", "phase", "since_s", "transport",
    )  # fmt: skip

    def __init__(
        self, guard: ConnectionGuard, make_protocol: Callable[[], asyncio.Protocol]
    ) -> None:
        self._guard = guard
        self._make_protocol = make_protocol
        self._protocol: asyncio.Protocol = _REFUSED
        self.transport: asyncio.Transport | None = None
        self.phase: _Phase | None = None
        """None before admission and after the end: the guard no longer counts it."""
        self.since_s = 0.0
        self.body: StreamReader | None = None
        self.handler_done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        if not self._guard._admit(self):
            self.transport.abort()
            return
        self._protocol = self._make_protocol()  # aiohttp's only for admitted connections
        self._protocol.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._guard._data_arrived(self)
        self._protocol.data_received(data)

    def eof_received(self) -> bool | None:
        return self._protocol.eof_received()

    def pause_writing(self) -> None:
        self._protocol.pause_writing()

    def resume_writing(self) -> None:
        self._protocol.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard._forget(self)
        self._protocol.connection_lost(exc)


def fit_to_descriptor_limit(connections_max: int) -> tuple[int, int]:
    """The connection cap the open-file limit can honour, and that limit.

    The cap protects the process only while a connection over it can still be accepted
    (to close it, or an idle one): past the descriptor limit `accept()` fails and the
    listening socket's queue fills with everyone's connections. So the soft limit is
    raised towards `connections_max + DESCRIPTORS_RESERVED` (never past the hard limit),
    and if it still falls short the cap returned is lower than the one asked for.
    """
    try:
        import resource  # Unix only
    except ImportError:
        return connections_max, 0
    needed = connections_max + DESCRIPTORS_RESERVED
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # keep the soft limit we have; the cap shrinks to fit it
    if soft == resource.RLIM_INFINITY:
        return connections_max, soft
    return max(1, min(connections_max, soft - DESCRIPTORS_RESERVED)), soft
