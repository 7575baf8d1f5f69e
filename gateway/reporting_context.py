"""The process's one reporting store, and the request stream that writes into it.

`create_app` builds the stream first (the middleware needs its `record` before the app
exists) and appends `reporting_context`, which opens the store at startup as
`app[REPORTING]` for everyone who needs it (the relay, the request stream, the report
routes), starts the stream's writer and shows its counts on `/metrics`; at cleanup it
writes the stream's last records, then closes the store. Nothing connects before the
application starts. `/readyz` never asks this store: reporting is not on the bet path, so
a store that cannot be opened (held by another process, written by a newer build) is
logged (`reporting_store_not_open`) and the gateway serves without it, as below.

Of a group of workers (`--workers N`) only worker 0 opens it: the embedded store (DuckDB)
is one file that one process at a time may hold, and a race for it at start-up would
decide which worker runs the relay. The other workers have no `app[REPORTING]` (their
report routes answer 503) and count their request records as dropped (`no_store`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import structlog
from aiohttp import web

from adapters.reporting.open import check_reporting_url, open_reporting_store
from core.reporting.store import ReportingStore
from gateway.clock import Clock
from gateway.keys import REPORTING
from gateway.metrics import Metrics
from gateway.request_stream import RequestStream, RequestStreamCollector
from gateway.settings import ReportingSettings, Settings, SettingsError
from gateway.worker import WORKER

__all__ = ["reporting_context", "request_stream"]

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
            worker = app.get(WORKER)
            store = None if worker is not None and worker.index != 0 else await _open(settings)
            if store is None:
                if requests is not None:
                    requests.without_store()
                yield
                return
            try:
                app[REPORTING] = store
                if requests is None:
                    yield
                else:
                    async with requests.writing(store.add_requests):
                        yield
            finally:
                await store.close()
        finally:
            if collector is not None:
                metrics.registry.unregister(collector)

    return reporting


async def _open(settings: Settings) -> ReportingStore | None:
    try:
        return await open_reporting_store(settings.reporting.url, settings.data_dir)
    except Exception as error:  # noqa: BLE001 -- whatever the backend raises: serve without
        first_line = str(error).partition("\n")[0]
        _log.error("reporting_store_not_open", error_type=type(error).__name__, error=first_line)
        return None
