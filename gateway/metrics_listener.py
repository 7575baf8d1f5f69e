"""A worker's own `/metrics` port: `server.metrics_port + worker index`, when set.

With several workers on one port (SO_REUSEPORT), a scrape of `/metrics` there reaches
whichever worker the kernel hands the connection to, so the series would jump between
workers' values. So each worker also serves its own registry on a port of its own, and
Prometheus scrapes every worker as a separate target: exact, and nothing shared between
processes. (prometheus-client's multiprocess mode, the alternative, cannot aggregate the
scrape-time collectors of `gateway.metrics`: the wallet store's counters, connections,
nonce caches.) One process with `metrics_port` set serves it too, as worker 0.

The application here answers `/metrics` and `/healthz` only, and its connections have the
main port's time limits under a guard of their own with a small cap: scrapers only.
`gamegate relay --metrics-port` serves its own registry (the relay's collector and the
process's) the same way (`gateway.relay_cli`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from gateway.connections import ConnectionGuard
from gateway.http_protocol import make_request_handler
from gateway.metrics import CONTENT_TYPE
from gateway.routes.health import healthz
from gateway.settings import ServerSettings
from gateway.worker import WORKER, WorkerInfo

__all__ = ["METRICS_CONNECTIONS_MAX", "serve_metrics"]

METRICS_CONNECTIONS_MAX = 64
"""Open connections on a metrics port: a few scrapers and a person with curl."""
METRICS_LISTEN_BACKLOG = 64


@contextlib.asynccontextmanager
async def serve_metrics(
    render: Callable[[], bytes], server: ServerSettings, port: int, worker: WorkerInfo | None
) -> AsyncIterator[int]:
    """Serve `render()` (a registry in Prometheus's text format) as `/metrics` on
    `server.host`:port until the block ends; the block gets the port bound (port 0 picks
    one). Raises `OSError` when the address cannot be bound."""

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=render(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    if worker is not None:
        app[WORKER] = worker
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    guard = ConnectionGuard(
        header_read_timeout_s=server.header_read_timeout_s,
        body_read_timeout_s=server.body_read_timeout_s,
        keepalive_idle_timeout_s=server.keepalive_idle_timeout_s,
        connections_max=METRICS_CONNECTIONS_MAX,
    )
    runner = web.AppRunner(
        app,
        access_log=None,
        shutdown_timeout=server.shutdown_timeout_s,
        keepalive_timeout=guard.aiohttp_keepalive_timeout_s,
    )
    await runner.setup()
    try:
        handler = runner.server
        assert handler is not None, "set up above"
        listener = await guard.listen(
            handler,
            server.host,
            port,
            backlog=METRICS_LISTEN_BACKLOG,
            make_protocol=lambda: make_request_handler(handler),
        )
        yield int(listener.sockets[0].getsockname()[1])
    finally:
        guard.close()
        await runner.cleanup()
