"""Prometheus metrics, one registry per application (tests build many apps).

Names carry units (`_seconds`, `_total`); labels have low cardinality: a configured
provider instance, a protocol operation, an outcome (`ok`, `replay` or a `Reason`),
an operator route pattern and a status code. Never a player id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import accumulate
from typing import NamedTuple, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from core.duration_buckets import BucketCounts
from core.wallet.store import StoreStats
from gateway.connections import LIMITS, ConnectionStats

__all__ = ["CONTENT_TYPE", "CatalogueStats", "Metrics", "NonceCacheCounts"]

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The classic text format (what `generate_latest` writes), which every Prometheus scrapes."""

DURATION_BUCKETS_S = (
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class CatalogueStats(NamedTuple):
    version: int
    games_by_status: Mapping[str, int]


class NonceCacheCounts(Protocol):
    """What a provider instance's nonce memory shows at scrape time."""

    @property
    def entries(self) -> int: ...
    @property
    def full_refusals_total(self) -> int: ...


class Metrics:
    """The gateway's collectors. `wallet_stats` is set while the store is open."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.provider_requests = Counter(
            "gamegate_provider_requests",
            "Provider callbacks by instance, protocol operation and outcome.",
            ["provider", "operation", "outcome"],
            registry=self.registry,
        )
        self.provider_request_duration = Histogram(
            "gamegate_provider_request_duration_seconds",
            "Time from receiving a provider callback to its response.",
            ["provider", "operation"],
            buckets=DURATION_BUCKETS_S,
            registry=self.registry,
        )
        self.operator_requests = Counter(
            "gamegate_operator_requests",
            "Operator API requests by route pattern and HTTP status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.lobby_answers = Counter(
            "gamegate_lobby_answers",
            "Lobby game lists by how they were served: computed, memory (the answer cache), "
            "not_modified (304 to If-None-Match).",
            ["served"],
            registry=self.registry,
        )
        self._lobby_served = {
            served: self.lobby_answers.labels(served)
            for served in ("computed", "memory", "not_modified")
        }
        self.catalogue_syncs = Counter(
            "gamegate_catalogue_syncs",
            "Catalogue feed syncs by provider instance and result: applied, unchanged, "
            "invalid, guarded, unavailable.",
            ["provider", "result"],
            registry=self.registry,
        )
        self.catalogue_index_build = Histogram(
            "gamegate_catalogue_index_build_seconds",
            "Time to read the catalogue and build a new lobby index (then swapped in whole).",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.register_checks = Counter(
            "gamegate_register_checks",
            "Self-exclusion register checks by market and result: clear, excluded, "
            "unavailable (refused: the market fails closed), failed_open (let through).",
            ["market", "result"],
            registry=self.registry,
        )
        self.rules_reloads = Counter(
            "gamegate_rules_reloads",
            "Jurisdiction rule reloads (SIGHUP, the operator API) by result: ok, invalid "
            "(the old rules kept).",
            ["result"],
            registry=self.registry,
        )
        for result in ("ok", "invalid"):
            # Exported at 0 from the start: a reload is rare, and `increase()` (the
            # GamegateRulesReloadFailed alert) cannot see a series born at 1.
            self.rules_reloads.labels(result)
        self.catalogue_stats: Callable[[], CatalogueStats] | None = None
        """Set while the catalogue is loaded: its version and games by status."""
        self.requests_in_flight = 0
        """HTTP requests being handled right now: a plain count (the event loop's own),
        read at scrape time, so a request costs no gauge lock."""
        self.wallet_stats: Callable[[], StoreStats] | None = None
        self.connection_stats: Callable[[], ConnectionStats] | None = None
        """Set by `gamegate serve`, whose connections have limits (`gateway.connections`)."""
        self.nonce_caches: dict[str, NonceCacheCounts] = {}
        """Provider instance -> its nonce memory, for those whose protocol carries nonces."""
        self.registry.register(_ScrapeTimeCollector(self))
        self.registry.register(_ConnectionCollector(self))
        self.registry.register(_CatalogueCollector(self))
        self._provider_series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}
        """Labelled children by label values: `labels()` validates and locks on every call,
        which is most of the cost per provider callback. Bounded like the labels are."""

    def observe_provider(
        self, provider: str, operation: str, outcome: str, duration_s: float
    ) -> None:
        key = (provider, operation, outcome)
        series = self._provider_series.get(key)
        if series is None:
            series = (
                self.provider_requests.labels(provider, operation, outcome),
                self.provider_request_duration.labels(provider, operation),
            )
            self._provider_series[key] = series
        requests, duration = series
        requests.inc()
        duration.observe(duration_s)

    def observe_lobby_answer(self, served: str) -> None:
        self._lobby_served[served].inc()

    def observe_register_check(self, market: str, result: str) -> None:
        self.register_checks.labels(market, result).inc()

    def observe_operator(self, route: str, status: int) -> None:
        self.operator_requests.labels(route, str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ScrapeTimeCollector(Collector):
    """Reads counts kept elsewhere at scrape time: nothing to update per request."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        in_flight, commits, operations, depth, commit_s, nonces, refusals = self._families()
        in_flight.add_metric([], self._metrics.requests_in_flight)
        stats = self._metrics.wallet_stats
        if stats is not None:
            current = stats()
            commits.add_metric([], current.commits_total)
            operations.add_metric([], current.operations_total)
            depth.add_metric([], current.queue_depth)
            commit_s.add_metric([], *_histogram(current.commit_durations))
        for provider, cache in sorted(self._metrics.nonce_caches.items()):
            nonces.add_metric([provider], cache.entries)
            refusals.add_metric([provider], cache.full_refusals_total)
        yield from (in_flight, commits, operations, depth, commit_s, nonces, refusals)

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    @staticmethod
    def _families() -> tuple[
        GaugeMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        GaugeMetricFamily,
        CounterMetricFamily,
    ]:
        return (
            GaugeMetricFamily(
                "gamegate_http_requests_in_flight", "HTTP requests being handled right now."
            ),
            CounterMetricFamily(
                "gamegate_wallet_store_commits",
                "Wallet store transactions committed (each durable group commit counts once).",
            ),
            CounterMetricFamily(
                "gamegate_wallet_store_operations",
                "Wallet store calls served; divided by commits: operations per group commit.",
            ),
            GaugeMetricFamily(
                "gamegate_wallet_store_queue_depth",
                "Wallet store calls waiting for the writer right now.",
            ),
            HistogramMetricFamily(
                "gamegate_wallet_store_commit_duration_seconds",
                "Time each durable commit took (SQLite: the COMMIT, its fsync and any "
                "checkpoint; Redis: the commit call to its reply). Every money callback "
                "waits on one.",
            ),
            GaugeMetricFamily(
                "gamegate_nonce_cache_entries",
                "Nonces a provider instance remembers right now (its cap refuses, never forgets).",
                labels=["provider"],
            ),
            CounterMetricFamily(
                "gamegate_nonce_cache_full_refusals",
                "Signed requests refused as retryable because the nonce memory was full.",
                labels=["provider"],
            ),
        )


def _histogram(counts: BucketCounts) -> tuple[list[tuple[str, float]], float]:
    """Prometheus's cumulative `le` buckets and the sum, from per-bucket counts."""
    labels = [*map(repr, counts.bounds_s), "+Inf"]
    return list(zip(labels, accumulate(counts.counts), strict=True)), counts.sum_s


class _ConnectionCollector(Collector):
    """Client connections and the limits that closed them, read at scrape time.

    The closes are exported (as zeros) even where no limits apply, so a rate over them
    starts at the first scrape; open connections only where they are counted.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        opened, closed = self._families()
        source = self._metrics.connection_stats
        stats = source() if source is not None else None
        if stats is not None:
            opened.add_metric([], stats.open)
        for limit in LIMITS:
            closed.add_metric([limit], stats.closed_by_limit[limit] if stats else 0)
        yield from (opened, closed)

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, CounterMetricFamily]:
        return (
            GaugeMetricFamily("gamegate_connections_open", "Client connections open right now."),
            CounterMetricFamily(
                "gamegate_connections_closed",
                "Client connections closed by a limit: header_read, body_read, "
                "keepalive_idle, connections_max.",
                labels=["limit"],
            ),
        )


class _CatalogueCollector(Collector):
    """The served catalogue's version and its games by status, read at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        version, games = self._families()
        source = self._metrics.catalogue_stats
        if source is not None:
            stats = source()
            version.add_metric([], stats.version)
            for status, count in sorted(stats.games_by_status.items()):
                games.add_metric([status], count)
        yield from (version, games)

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "gamegate_catalogue_version",
                "Version of the catalogue this process serves (moves on every change).",
            ),
            GaugeMetricFamily(
                "gamegate_catalogue_games",
                "Games in the served catalogue by status: active, disabled, retired.",
                labels=["status"],
            ),
        )
