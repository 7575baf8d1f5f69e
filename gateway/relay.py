"""The relay: the wallet's committed log into the reporting store, exactly once by seq.

One step: ask the store for its cursor and its per-source positions, read the next
committed records after them (`core.reporting.wallet_log`: the SQLite log needs the
cursor alone, the Redis log a stream position per group), derive their events
(`core.reporting.derive`) from the store's balances before them, and `apply` events,
balances, the new cursor and the batch's positions in one reporting transaction. A
crash anywhere repeats the step from the store's cursor and positions: reading is at
least once, the effect exactly once. The loop steps while there is
work, sleeps `relay_poll_interval_s` when caught up, and on any failure logs it (no
frame locals: `gateway.logging`), counts it, backs off (doubling, at most
`BACKOFF_S_MAX`) and tries again with a freshly opened wallet reader. It never raises
out, never writes to the wallet and never waits on the bet path: reads and derivation
run on worker threads.

`gamegate serve` runs it in a child process by default (`gateway.relay_process`: in
serve's own process its Python work shares the wallet's GIL and costs the wallet a third
of its throughput), or with `reporting.relay_in_process` as a background task
(`relay_context`, in the process that holds the reporting store: worker 0 of a group);
`gamegate relay` runs it on its own (`gateway.relay_cli`, also the child's entry). Lag
and counts are plain numbers read at scrape time (`RelayCollector`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import structlog
from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.reporting.wallet_logs import open_wallet_log, unsupported_reason
from core.catalogue.live import LiveCatalogue
from core.reporting.derive import GameLookup, balance_keys, derive
from core.reporting.store import ReportingStore
from core.reporting.wallet_log import WalletLog
from gateway.keys import CATALOGUE, CLOCK, METRICS, REPORTING_STORE
from gateway.settings import Settings

__all__ = [
    "BACKOFF_S_MAX",
    "Relay",
    "RelayCollector",
    "RelayStats",
    "configured_relay",
    "relay_context",
    "running",
    "wait_after_step_s",
]

BACKOFF_S_MAX = 30.0
"""The longest wait between two tries after failures in a row."""
STOP_TIMEOUT_S = 10.0
"""How long a stop waits for the step under way (one reporting transaction) to end."""

OpenWallet = Callable[[], Awaitable[WalletLog]]

_log = structlog.get_logger("gamegate.relay")


def wait_after_step_s(
    relayed: int,
    took_s: float,
    *,
    batch_seqs_max: int,
    poll_interval_s: float,
    step_interval_s: float,
) -> float:
    """How long the relay waits after a step. Caught up: the poll interval. A full
    batch (behind): none. A partial batch (keeping pace): until `step_interval_s` after
    the step began, so each reporting transaction carries more records and its fixed
    cost (~30 ms on DuckDB) is paid less often; the lag stays below the interval plus a
    step."""
    if not relayed:
        return poll_interval_s
    if relayed >= batch_seqs_max:
        return 0.0
    return max(step_interval_s - took_s, 0.0)


@dataclass(slots=True)
class RelayStats:
    """What the relay has done and how far behind it is, as of its last step."""

    events_total: int = 0
    failures_total: int = 0
    cursor: int = 0
    last_seq: int = 0
    """The wallet's last committed seq when last read."""
    oldest_at_us: int | None = None
    """When the oldest record not yet relayed was written; None when caught up."""

    @property
    def lag_seqs(self) -> int:
        return max(0, self.last_seq - self.cursor)

    def lag_s(self, now_us: int) -> float:
        return 0.0 if self.oldest_at_us is None else max(0, now_us - self.oldest_at_us) / 1e6


class Relay:
    def __init__(
        self,
        open_wallet: OpenWallet,
        store: ReportingStore,
        games: GameLookup,
        *,
        batch_seqs_max: int,
        poll_interval_s: float,
        step_interval_s: float = 0.0,
        stats: RelayStats | None = None,
    ) -> None:
        self._open_wallet = open_wallet
        self._wallet: WalletLog | None = None
        self._store = store
        self._games = games
        self._batch_seqs_max = batch_seqs_max
        self._poll_interval_s = poll_interval_s
        self._step_interval_s = step_interval_s
        self.stats = stats or RelayStats()

    async def step(self) -> int:
        """Relay the next batch; the records it held (0: caught up)."""
        if self._wallet is None:
            self._wallet = await self._open_wallet()
        stats = self.stats
        cursor = stats.cursor = await self._store.cursor()
        positions = await self._store.positions()
        batch = await self._wallet.read(cursor, self._batch_seqs_max, positions)
        stats.last_seq = batch.last_seq
        if not batch.records:
            stats.oldest_at_us = None
            return 0
        stats.oldest_at_us = batch.records[0].created_at_us
        before = await self._store.balances(balance_keys(batch))
        derived = await asyncio.to_thread(derive, batch, before, self._games)
        await self._store.apply(
            derived.events, batch.through_seq, derived.balances, batch.positions
        )
        stats.cursor = batch.through_seq
        stats.oldest_at_us = batch.next_at_us
        stats.events_total += len(derived.events)
        return len(batch.records)

    async def drain(self) -> None:
        """Step until caught up; a failure raises."""
        while await self.step():
            pass

    async def run(self, stop: asyncio.Event) -> None:
        """Step until `stop` is set, sleeping when caught up and backing off on failures."""
        failures = 0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started_s = loop.time()
            try:
                relayed = await self.step()
            except Exception:  # noqa: BLE001 -- any failure: log, count, back off, retry
                failures += 1
                self.stats.failures_total += 1
                wait_s = min(self._poll_interval_s * 2**failures, BACKOFF_S_MAX)
                _log.warning("relay_failed", failures=failures, retry_in_s=wait_s, exc_info=True)
                await self._forget_wallet()
            else:
                if failures:
                    _log.info("relay_recovered", failures=failures)
                failures = 0
                wait_s = wait_after_step_s(
                    relayed,
                    loop.time() - started_s,
                    batch_seqs_max=self._batch_seqs_max,
                    poll_interval_s=self._poll_interval_s,
                    step_interval_s=self._step_interval_s,
                )
            if wait_s:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait_s)

    async def close(self) -> None:
        await self._forget_wallet()

    async def _forget_wallet(self) -> None:
        """Close the reader, so the next step opens a fresh one (a replaced file, a
        connection in a bad state)."""
        wallet, self._wallet = self._wallet, None
        if wallet is not None:
            with contextlib.suppress(Exception):
                await wallet.close()


class RelayCollector(Collector):
    """The relay's lag and counts, read at scrape time."""

    def __init__(self, stats: RelayStats, now_us: Callable[[], int]) -> None:
        self._stats = stats
        self._now_us = now_us

    def collect(self) -> Iterator[Metric]:
        lag_seqs, lag_s, events, failures = self._families()
        stats = self._stats
        lag_seqs.add_metric([], stats.lag_seqs)
        lag_s.add_metric([], stats.lag_s(self._now_us()))
        events.add_metric([], stats.events_total)
        failures.add_metric([], stats.failures_total)
        yield from (lag_seqs, lag_s, events, failures)

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    @staticmethod
    def _families() -> tuple[
        GaugeMetricFamily, GaugeMetricFamily, CounterMetricFamily, CounterMetricFamily
    ]:
        return (
            GaugeMetricFamily(
                "gamegate_relay_lag_seqs",
                "Wallet records committed but not yet in the reporting store (as of the "
                "relay's last look at the wallet).",
            ),
            GaugeMetricFamily(
                "gamegate_relay_lag_seconds",
                "Age of the oldest wallet record not yet in the reporting store; 0 when caught up.",
            ),
            CounterMetricFamily(
                "gamegate_relay_events", "Report events the relay wrote (state changes included)."
            ),
            CounterMetricFamily(
                "gamegate_relay_failures",
                "Relay steps that failed (each logged as relay_failed, then retried), and "
                "exits of serve's relay child (relay_process_exited, then restarted).",
            ),
        )


def configured_relay(settings: Settings, store: ReportingStore, live: LiveCatalogue) -> Relay:
    """The relay the settings describe, from the wallet they name into `store`, with the
    games' verticals from `live` (read at each step: a refreshed index is used)."""
    config = settings.reporting
    return Relay(
        lambda: open_wallet_log(settings.wallet.url, data_dir=settings.data_dir),
        store,
        lambda key: live.index.game(key),
        batch_seqs_max=config.relay_batch_seqs_max,
        poll_interval_s=config.relay_poll_interval_s,
        step_interval_s=config.relay_step_interval_s,
    )


def relay_context(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context: the relay runs in the background while the app does, in the
    process that holds the reporting store itself (`REPORTING_STORE`: no relay child,
    `gateway.reporting_context`), when `reporting.relay` is on and the wallet has a
    reader; its lag and counts on `/metrics`. Start-up never waits for it."""
    config = settings.reporting

    async def relay(app: web.Application) -> AsyncIterator[None]:
        store = app.get(REPORTING_STORE)
        reason = unsupported_reason(settings.wallet.url)
        if not config.relay or store is None:
            yield
            return
        if reason is not None:
            _log.warning("relay_not_started", reason=reason)
            yield
            return
        live = app[CATALOGUE]
        clock = app[CLOCK]
        runner = configured_relay(settings, store, live)
        collector = RelayCollector(runner.stats, clock.micros)
        metrics = app[METRICS]
        metrics.registry.register(collector)
        try:
            async with running(runner):
                yield
        finally:
            metrics.registry.unregister(collector)

    return relay


@contextlib.asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[None]:
    """`relay.run` in the background while the block runs; on the way out, the step
    under way may finish (bounded by `STOP_TIMEOUT_S`), then the reader closes."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, STOP_TIMEOUT_S)
        except TimeoutError:
            _log.warning("relay_stop_timed_out", timeout_s=STOP_TIMEOUT_S)
        finally:
            await relay.close()
