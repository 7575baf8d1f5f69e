"""Durations counted in fixed buckets where the metrics library is not: a wallet store's
writer thread, code in `core` and `adapters` (the gateway turns a snapshot into a
Prometheus histogram at scrape time).

One bisection and two additions an observation, no lock: a scrape on another thread may
see an observation counted in its bucket but not yet in the sum, which a histogram's
rates tolerate. Counts only grow.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["COMMIT_SECONDS_BOUNDS", "BucketCounts", "DurationBuckets"]

COMMIT_SECONDS_BOUNDS = (
    0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5,
)  # fmt: skip
"""A durable commit: a local fsync takes from a fraction of a millisecond (an SSD's
cache) to tens (a checkpoint, a busy disk); past a second something is wrong."""


@dataclass(frozen=True, slots=True)
class BucketCounts:
    """A snapshot: `counts[i]` durations at most `bounds_s[i]` and above the bound before
    it; the last count, those above every bound."""

    bounds_s: tuple[float, ...]
    counts: tuple[int, ...]
    sum_s: float

    @property
    def total(self) -> int:
        return sum(self.counts)


class DurationBuckets:
    """`observe(seconds)` from any one thread; `snapshot()` from any other."""

    __slots__ = ("_bounds_s", "_counts", "_sum_s")

    def __init__(self, bounds_s: tuple[float, ...]) -> None:
        assert bounds_s, "at least one bound"
        assert list(bounds_s) == sorted(set(bounds_s)), "strictly increasing bounds"
        self._bounds_s = bounds_s
        self._counts = [0] * (len(bounds_s) + 1)
        self._sum_s = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[bisect_left(self._bounds_s, seconds)] += 1
        self._sum_s += seconds

    @contextmanager
    def timing(self) -> Iterator[None]:
        """Observes how long the `with` block took, whether or not it raised (a commit
        that failed after a long wait is the slowness to show)."""
        started_s = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started_s)

    def snapshot(self) -> BucketCounts:
        return BucketCounts(self._bounds_s, tuple(self._counts), self._sum_s)
