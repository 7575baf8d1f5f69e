"""The wallet stores the contract suite runs against: adding a backend is one entry here.

Each entry is a store factory: it opens a fresh, empty store under `directory` whose
clock is `clock_us` and closes it on exit. `by_url` makes one from a wallet URL, opened
through `open_wallet_store` as the gateway opens it; a relative path is relative to
`directory`. A backend whose state outlives `directory` (a server) must start each
store empty: give it a factory of its own that clears its keys first, or a URL that
names a fresh database.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.stores.open import open_wallet_store
from core.wallet.store import WalletStore
from tests.contract.redis_stores import redis_cluster_store, redis_server_store

__all__ = ["CONCURRENCY_STORES", "STORES", "StoreFactory", "by_url"]

StoreFactory = Callable[
    [Path, Callable[[], int]], contextlib.AbstractAsyncContextManager[WalletStore]
]


def by_url(url: str, **options: Any) -> StoreFactory:
    """A factory opening `url` with `options`, as `gateway.app` does with the settings."""

    @contextlib.asynccontextmanager
    async def factory(directory: Path, clock_us: Callable[[], int]) -> AsyncIterator[WalletStore]:
        store = await open_wallet_store(url, data_dir=directory, clock_us=clock_us, **options)
        try:
            yield store
        finally:
            await store.close()

    return factory


STORES = [
    pytest.param(by_url("sqlite:wallet.db"), id="sqlite"),
    pytest.param(redis_server_store, id="redis", marks=pytest.mark.redis),
    pytest.param(redis_cluster_store, id="redis-cluster", marks=pytest.mark.redis),
]
"""Every store backend, in its default configuration."""

CONCURRENCY_STORES = [
    *STORES,
    pytest.param(by_url("sqlite:wallet.db", batch_ops_max=1), id="sqlite-commit-per-op"),
]
"""Backends plus variants whose concurrency control differs (no group commit)."""
