"""The in-memory nonce cache: remembered for its whole window, bounded, refusing when full."""

from __future__ import annotations

import pytest

from adapters.providers.nonces import MemoryNonceCache
from core.errors import StorageUnavailable


async def test_a_nonce_is_remembered_for_its_whole_window_then_forgotten() -> None:
    cache = MemoryNonceCache(window_s=600, entries_max=10)
    assert await cache.seen("n1", 1_000.0) is False
    assert await cache.seen("n1", 1_600.0) is True  # the window's last instant still counts
    assert await cache.seen("n1", 1_600.5) is False  # expired, so recorded afresh
    assert cache.entries == 1


async def test_when_full_a_new_nonce_is_refused_and_counted_and_none_is_forgotten() -> None:
    cache = MemoryNonceCache(window_s=600, entries_max=2)
    assert [await cache.seen(key, 1_000.0) for key in ("n1", "n2")] == [False, False]

    with pytest.raises(StorageUnavailable):
        await cache.seen("n3", 1_100.0)
    with pytest.raises(StorageUnavailable):
        await cache.seen("n3", 1_200.0)

    assert (cache.entries, cache.full_refusals_total) == (2, 2)
    assert await cache.seen("n1", 1_300.0) is True  # a replay is still told apart when full


async def test_expired_nonces_make_room_so_the_cap_counts_live_ones_only() -> None:
    cache = MemoryNonceCache(window_s=600, entries_max=2)
    await cache.seen("n1", 1_000.0)
    await cache.seen("n2", 1_500.0)
    assert await cache.seen("n3", 1_601.0) is False  # n1 expired and was dropped
    assert cache.entries == 2
    assert cache.full_refusals_total == 0
    assert await cache.seen("n2", 1_602.0) is True
