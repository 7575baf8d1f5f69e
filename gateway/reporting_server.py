"""The reporting store's internal API on a unix socket, served by the relay's child process.

`gamegate serve` runs the relay in a child process (`gateway.relay_process`) so the
relay's Python work does not share the wallet's GIL; the embedded store (DuckDB) lets
one process hold it, so that child also answers serve's few needs on
`<data_dir>/reporting.sock` (`adapters.reporting.socket_client` is the other end):

    POST /requests      request records to append           -> 200 {}
    POST /ggr           a GgrQuery                           -> 200 [GgrRow, ...]
    POST /open-rounds   an OpenRoundsQuery                   -> 200 [OpenRound, ...]
    GET  /relay-stats   the relay's figures for serve's /metrics

The socket is the owner's alone (0600), replaced when a crashed run left it behind (only
the process that holds the store gets this far), and removed on the way out. Bodies are
bounded (`REQUEST_BYTES_MAX`); a body that does not decode is a 400.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import orjson
import structlog
from aiohttp import web

from adapters.reporting.reporting_wire import (
    decode_ggr_query,
    decode_open_rounds_query,
    decode_requests,
    encode_ggr_rows,
    encode_open_rounds,
)
from adapters.reporting.socket_client import (
    GGR_PATH,
    OPEN_ROUNDS_PATH,
    RELAY_STATS_PATH,
    REQUESTS_PATH,
)
from core.reporting.store import ReportingStore
from gateway.relay import RelayStats

__all__ = ["REQUEST_BYTES_MAX", "serve_reporting"]

REQUEST_BYTES_MAX = 64 * 1024 * 1024
"""The largest request body: a batch at `reporting.requests_batch_max`'s ceiling
(100,000 records of ~250 bytes) fits."""
SOCKET_MODE = 0o600

_log = structlog.get_logger("gamegate.relay")
Handler = Callable[[web.Request], Awaitable[web.Response]]


@contextlib.asynccontextmanager
async def serve_reporting(
    store: ReportingStore, stats: RelayStats, socket_path: Path
) -> AsyncIterator[None]:
    """Answer on `socket_path` while the block runs; `OSError` if it cannot listen."""
    app = web.Application(client_max_size=REQUEST_BYTES_MAX)
    app.router.add_post(REQUESTS_PATH, _guarded(_add_requests(store)))
    app.router.add_post(GGR_PATH, _guarded(_ggr(store)))
    app.router.add_post(OPEN_ROUNDS_PATH, _guarded(_open_rounds(store)))
    app.router.add_get(RELAY_STATS_PATH, _relay_stats(stats))
    _remove_stale(socket_path)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.UnixSite(runner, str(socket_path)).start()
        os.chmod(socket_path, SOCKET_MODE)
        _log.info("reporting_socket_listening", path=str(socket_path))
        yield
    finally:
        await runner.cleanup()
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()


def _remove_stale(socket_path: Path) -> None:
    """A socket file left by a crashed run goes; anything else there is refused."""
    try:
        mode = socket_path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"{socket_path} exists and is not a socket")
    socket_path.unlink()


def _guarded(handler: Handler) -> Handler:
    """A body that does not decode is the caller's mistake: 400, not 500."""

    async def guarded(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except (ValueError, TypeError) as error:
            raise web.HTTPBadRequest(text=type(error).__name__) from None

    return guarded


def _add_requests(store: ReportingStore) -> Handler:
    async def add_requests(request: web.Request) -> web.Response:
        await store.add_requests(decode_requests(await request.read()))
        return _json(b"{}")

    return add_requests


def _ggr(store: ReportingStore) -> Handler:
    async def ggr(request: web.Request) -> web.Response:
        query = decode_ggr_query(await request.read())
        return _json(encode_ggr_rows(await store.ggr(query)))

    return ggr


def _open_rounds(store: ReportingStore) -> Handler:
    async def open_rounds(request: web.Request) -> web.Response:
        query = decode_open_rounds_query(await request.read())
        return _json(encode_open_rounds(await store.open_rounds(query)))

    return open_rounds


def _relay_stats(stats: RelayStats) -> Handler:
    async def relay_stats(request: web.Request) -> web.Response:
        return _json(orjson.dumps(dataclasses.asdict(stats)))

    return relay_stats


def _json(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")
