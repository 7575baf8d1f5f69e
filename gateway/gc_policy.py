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

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["GC_YOUNG_ALLOCATIONS_MAX", "apply_serving_gc_policy", "collections_paused"]

GC_YOUNG_ALLOCATIONS_MAX = 50_000
"""Net container allocations between young collections (CPython's default is 700)."""
GC_MIDDLE_COLLECTIONS_MAX = 10
GC_OLD_COLLECTIONS_MAX = 10
"""The older generations keep CPython's defaults."""


_serving = False
_pauses = 0


def apply_serving_gc_policy() -> None:
    """Call once, after start-up built everything long-lived and before serving."""
    global _serving
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_ALLOCATIONS_MAX, GC_MIDDLE_COLLECTIONS_MAX, GC_OLD_COLLECTIONS_MAX)
    _serving = True


@contextlib.contextmanager
def collections_paused() -> Iterator[None]:
    """No collection while a new catalogue is read and indexed; afterwards (serving) the
    new index joins the frozen long-lived objects.

    Why: reading and indexing 10,000 games allocates hundreds of thousands of objects,
    which sets off full collections that walk every unfrozen object (the old index and
    the new one): 100-200 ms with the loop's thread waiting on the one that collects
    (measured: a feed parse in a thread stalled the loop 103 ms with collections on,
    15 ms with them paused). Reference counting still frees what the work drops; the
    old index, acyclic, is freed the same way once replaced, frozen or not. Pauses may
    overlap (two syncs): collections resume when the last one ends."""
    global _pauses
    _pauses += 1
    if _pauses == 1:
        gc.disable()
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0:
            gc.enable()
            if _serving:
                gc.freeze()
