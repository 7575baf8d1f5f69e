"""The garbage collector's policy for a serving process.

Why: the wallet keeps hundreds of thousands of small immutable records in its caches,
and every request allocates a few dozen container objects. With CPython's default (a
young collection every 700 net allocations) a collection runs every few requests, and
the ones that reach the older generations walk those caches. On `bench_wallet` (c=256,
group commit) the default cost about 15 % of the CPU per operation and most of the p99.
A larger young generation keeps collections rare while still collecting the short cycles
requests leave (an exception and its traceback); `gc.freeze()` after start-up leaves the
modules, settings and app graph out of every later collection.

50,000 rather than 10,000 since refusals stopped leaving cyclic garbage (each one used to
keep its whole group commit alive until a collection): what a young collection now finds
is mostly requests in flight, which a larger young generation walks less often. Three
interleaved pairs on `bench_wallet` c=256: 3-7 % more operations per second, p99 and p999
no worse. (With that garbage, 10,000 had given the same throughput and half the p999.)
"""

from __future__ import annotations

import gc

__all__ = ["GC_YOUNG_ALLOCATIONS_MAX", "apply_serving_gc_policy", "serving"]

GC_YOUNG_ALLOCATIONS_MAX = 50_000
"""Net container allocations between young collections (CPython's default is 700)."""
GC_MIDDLE_COLLECTIONS_MAX = 10
GC_OLD_COLLECTIONS_MAX = 10
"""The older generations keep CPython's defaults."""


_serving = False


def apply_serving_gc_policy() -> None:
    """Call once, after start-up built everything long-lived and before serving."""
    global _serving
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_ALLOCATIONS_MAX, GC_MIDDLE_COLLECTIONS_MAX, GC_OLD_COLLECTIONS_MAX)
    _serving = True


def serving() -> bool:
    """Whether the serving policy is on (collections rare, start-up objects frozen)."""
    return _serving
