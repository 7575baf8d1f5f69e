"""One way to serve an application: the runner, the connection limits, our protocol.

`gamegate serve` and the live-gateway tests both come through here, so what the tests
attack is what production runs: aiohttp's runner opens the application (the wallet is
opened by its cleanup context), connections are accepted under the limits of
`gateway.connections`, and each one gets `gateway.http_protocol`'s handler.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from gateway.connections import ConnectionGuard, fit_to_descriptor_limit
from gateway.http_protocol import make_request_handler
from gateway.keys import METRICS
from gateway.settings import ServerSettings, Settings

__all__ = ["LISTEN_BACKLOG", "OpenServer", "open_server"]

LISTEN_BACKLOG = 4_096
"""Pending connections the kernel may queue: bursts of provider callbacks wait, not fail."""


@dataclass(frozen=True, slots=True)
class OpenServer:
    """An application that is set up (its wallet open) and ready to listen."""

    runner: web.AppRunner
    guard: ConnectionGuard
    settings: ServerSettings

    async def listen(self, *, reuse_port: bool = False) -> int:
        """Accept connections on the configured host and port; the port actually bound.
        Raises `OSError` when the address cannot be bound. `reuse_port`: one of several
        worker processes on the same port (`gateway.workers`)."""
        server = self.runner.server
        assert server is not None, "set up by open_server"
        listener = await self.guard.listen(
            server,
            self.settings.host,
            self.settings.port,
            backlog=LISTEN_BACKLOG,
            make_protocol=lambda: make_request_handler(server),
            reuse_port=reuse_port,
        )
        port: int = listener.sockets[0].getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def open_server(
    app: web.Application, settings: Settings, warn: Callable[[str], None]
) -> AsyncIterator[OpenServer]:
    """Set the application up (errors opening the wallet propagate), yield it ready to
    `listen()`, and shut it down cleanly on the way out."""
    guard = connection_guard(settings.server, warn)
    runner = web.AppRunner(
        app,
        access_log=None,
        shutdown_timeout=settings.server.shutdown_timeout_s,
        keepalive_timeout=guard.aiohttp_keepalive_timeout_s,
    )
    await runner.setup()
    app[METRICS].connection_stats = guard.stats
    try:
        yield OpenServer(runner, guard, settings.server)
    finally:
        guard.close()
        await runner.cleanup()


def connection_guard(server: ServerSettings, warn: Callable[[str], None]) -> ConnectionGuard:
    """The guard for `server`'s limits, its cap lowered to what the open-file limit allows."""
    connections_max, open_files_max = fit_to_descriptor_limit(server.connections_max)
    if connections_max < server.connections_max:
        warn(
            f"server.connections_max {server.connections_max} lowered to {connections_max}: "
            f"the open-file limit is {open_files_max} (raise `ulimit -n`)"
        )
    return ConnectionGuard(
        header_read_timeout_s=server.header_read_timeout_s,
        body_read_timeout_s=server.body_read_timeout_s,
        keepalive_idle_timeout_s=server.keepalive_idle_timeout_s,
        connections_max=connections_max,
    )
