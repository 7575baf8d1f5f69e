"""The process's one reporting store, and the request stream that writes into it.

`create_app` builds the stream first (the middleware needs its `record` before the app
exists) and appends `reporting_context`, which opens the store at startup as
`app[REPORTING]` for everyone who needs it (the relay, the request stream, the report
routes), starts the stream's writer and shows its counts on `/metrics`; at cleanup it
writes the stream's last records, then closes the store. Nothing connects before the
application starts. `/readyz` never asks this store: reporting is not on the bet path.

Of a group of workers (`--workers N`) only worker 0 opens it: the embedded store (DuckDB)
is one file that one process at a time may hold, and a race for it at start-up would
decide which worker runs the relay. The other workers have no `app[REPORTING]` (their
report routes answer 503) and count their request records as dropped (`no_store`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from adapters.reporting.open import open_reporting_store
from gateway.clock import Clock
from gateway.keys import REPORTING
from gateway.metrics import Metrics
from gateway.request_stream import RequestStream, RequestStreamCollector
from gateway.settings import ReportingSettings, Settings
from gateway.worker import WORKER

__all__ = ["reporting_context", "request_stream"]


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
    async def reporting(app: web.Application) -> AsyncIterator[None]:
        collector = None if requests is None else RequestStreamCollector(requests)
        if collector is not None:
            metrics.registry.register(collector)
        try:
            worker = app.get(WORKER)
            if worker is not None and worker.index != 0:
                if requests is not None:
                    requests.without_store()
                yield
                return
            store = await open_reporting_store(settings.reporting.url, settings.data_dir)
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
