"""The process's reporting: the request stream's destination and the report routes' source.

`create_app` builds the stream first (the middleware needs its `record` before the app
exists) and appends `reporting_context`, which at startup sets `app[REPORTING]` (the
narrow `ReportingQueries`: what the stream and the report routes use), starts the
stream's writer and shows its counts on `/metrics`; at cleanup it writes the stream's
last records, then closes what it opened. Nothing connects before the application
starts. `/readyz` never asks reporting: it is not on the bet path.

By default (`reporting.relay` on, the wallet readable by the relay, not
`relay_in_process`) the store is held by the relay's child process
(`gateway.relay_process`, started here by the first process: a single serve or worker
0), and every process, each worker of a group too, gets a client of its socket
(`adapters.reporting.socket_client`): request records of all workers reach the store and
every worker answers reports. While the child is not up, a batch fails (`store_failed`)
and a report is a 503.

Otherwise the first process opens the store itself (`app[REPORTING_STORE]` too, for the
in-process relay): the embedded store (DuckDB) is one file that one process at a time
may hold. A store that cannot be opened is logged (`reporting_store_not_open`) and the
gateway serves without it. The other workers then have no `app[REPORTING]` (their report
routes answer 503) and count their request records as dropped (`no_store`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import structlog
from aiohttp import web

from adapters.reporting.open import check_reporting_url, open_reporting_store
from adapters.reporting.socket_client import SocketReporting
from core.reporting.store import ReportingQueries, ReportingStore
from gateway.clock import Clock
from gateway.keys import CLOCK, METRICS, REPORTING, REPORTING_STORE
from gateway.logging import write_log_line
from gateway.metrics import Metrics
from gateway.relay import RelayCollector
from gateway.relay_child import socket_path
from gateway.relay_process import child_relay_wanted, relay_process
from gateway.request_stream import RequestStream, RequestStreamCollector
from gateway.settings import ReportingSettings, Settings, SettingsError
from gateway.worker import WORKER

__all__ = ["reporting_context", "request_stream"]

CHILD_START_WAIT_S = 30.0
"""How long after start-up request records wait for the relay child's first answer
before a batch counts as failed: a start is no drop (the child takes a second or two)."""

_log = structlog.get_logger("gamegate.reporting")


def request_stream(reporting: ReportingSettings, clock: Clock) -> RequestStream | None:
    """The stream as configured; None when `requests_queue_max` is 0 (no records)."""
    if reporting.requests_queue_max == 0:
        return None
    return RequestStream(
        clock.micros,
        queue_max=reporting.requests_queue_max,
        batch_max=reporting.requests_batch_max,
        flush_interval_s=reporting.requests_flush_interval_s,
    )


def reporting_context(
    settings: Settings, metrics: Metrics, requests: RequestStream | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The cleanup context; `SettingsError` now for a `reporting.url` that cannot work."""
    try:
        check_reporting_url(settings.reporting.url)
    except ValueError as error:
        raise SettingsError(str(error)) from None

    async def reporting(app: web.Application) -> AsyncIterator[None]:
        collector = None if requests is None else RequestStreamCollector(requests)
        if collector is not None:
            metrics.registry.register(collector)
        try:
            async with contextlib.AsyncExitStack() as stack:
                queries = await _queries(app, settings, stack)
                if queries is None:
                    if requests is not None:
                        requests.without_store()
                    yield
                    return
                app[REPORTING] = queries
                if requests is not None:
                    await stack.enter_async_context(requests.writing(queries.add_requests))
                yield
        finally:
            if collector is not None:
                metrics.registry.unregister(collector)

    return reporting


async def _queries(
    app: web.Application, settings: Settings, stack: contextlib.AsyncExitStack
) -> ReportingQueries | None:
    """The relay child's client (the first process also starts the child), or the store
    opened here (the first process only), or None; what opens is closed by `stack`."""
    worker = app.get(WORKER)
    first = worker is None or worker.index == 0
    if child_relay_wanted(settings):
        client = SocketReporting(
            socket_path(settings),
            timeout_s=settings.reporting.relay_socket_timeout_s,
            start_wait_s=CHILD_START_WAIT_S,
        )
        stack.push_async_callback(client.close)
        if first:
            mirror = await stack.enter_async_context(
                relay_process(settings, client, write_log_line)
            )
            collector = RelayCollector(mirror.stats, app[CLOCK].micros)
            registry = app[METRICS].registry
            registry.register(collector)
            stack.callback(registry.unregister, collector)
        return client
    store = await _open(settings) if first else None
    if store is None:
        return None
    stack.push_async_callback(store.close)
    app[REPORTING_STORE] = store
    return store


async def _open(settings: Settings) -> ReportingStore | None:
    try:
        return await open_reporting_store(settings.reporting.url, settings.data_dir)
    except Exception as error:  # noqa: BLE001 -- whatever the backend raises: serve without
        first_line = str(error).partition("\n")[0]
        _log.error("reporting_store_not_open", error_type=type(error).__name__, error=first_line)
        return None
